//! The explorer's race is correct under irpkit's explorer, and both of its endings happen:
//! the driver's completion winning, and a cancel routine running.

use std::sync::Arc;

use irpkit::explore::Scenario;
use irpkit_perf::explorer::{explore_seeds, step_scenarios, CancelRace};

#[test]
fn the_cancel_race_is_explored_without_violation_and_both_sides_win() {
    let race = Arc::new(CancelRace::default());
    let scenario: Arc<dyn Scenario> = race.clone();
    let run = explore_seeds(&scenario, 200, 1);
    assert_eq!(run.schedules, 200);
    assert!(run.steps >= 10 * run.schedules, "every schedule takes scheduling points");
    let won = race.driver_won();
    assert!(won > 0 && won < 200, "the driver won {won} of 200 schedules");
}

#[test]
fn the_per_step_scenarios_are_the_twins_then_the_samples() {
    let names: Vec<(&str, &str)> = step_scenarios().iter().map(|(n, k, _)| (*n, *k)).collect();
    assert_eq!(
        &names[..3],
        &[
            ("queue-correct", "correct twin"),
            ("startio-correct", "correct twin"),
            ("startio-sync-correct", "correct twin"),
        ]
    );
    assert!(names[3..].iter().all(|(_, k)| *k == "sample workload"));
}

//! `irpkit-perf-shuttle SCHEDULES`: runs the cancel race of the performance report
//! (this package's library, [`irpkit_perf_shuttle::cancel_race`]) under shuttle's random scheduler,
//! `shuttle::check_random` with SCHEDULES iterations, each on a fresh kernel. irpkit must
//! be built with `RUSTFLAGS="--cfg shuttle"`: every atomic, lock and thread of irpkit is
//! then shuttle's, and shuttle decides the interleaving at each of them.
//!
//! It prints, one a line: `schedules N`, `elapsed_ns T` (the real time of the check
//! alone, not of the process start) and `driver_won W` (schedules in which the driver's
//! own completion beat both cancellers). `irpkit-perf` builds and runs it:
//!
//! ```text
//! RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle \
//!   cargo build --release -p irpkit-perf-shuttle
//! target/shuttle/release/irpkit-perf-shuttle 1000
//! ```
//!
//! Built without `--cfg shuttle` it only says so and exits with status 2.

use std::process::ExitCode;

fn usage() -> &'static str {
    "usage: irpkit-perf-shuttle SCHEDULES\n\
     \n\
     Runs the performance report's cancel race under shuttle::check_random with SCHEDULES\n\
     iterations and prints `schedules N`, `elapsed_ns T` and `driver_won W`."
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let schedules = match args.as_slice() {
        [h] if h == "-h" || h == "--help" => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        [n] => match n.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("irpkit-perf-shuttle: SCHEDULES must be a positive count, not {n:?}\n\n{}", usage());
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    run(schedules)
}

#[cfg(not(shuttle))]
fn run(_schedules: u64) -> ExitCode {
    eprintln!(
        "irpkit-perf-shuttle: built without `--cfg shuttle`, so irpkit uses std's primitives and shuttle \
         cannot schedule it; build it with RUSTFLAGS=\"--cfg shuttle\" (irpkit-perf does)"
    );
    ExitCode::from(2)
}

#[cfg(shuttle)]
fn run(schedules: u64) -> ExitCode {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    static DRIVER_WON: AtomicU64 = AtomicU64::new(0);
    let start = Instant::now();
    shuttle::check_random(
        || {
            let kernel = irpkit::Kernel::builder().build();
            let _entered = kernel.enter();
            if irpkit_perf_shuttle::cancel_race(&kernel) {
                DRIVER_WON.fetch_add(1, Ordering::Relaxed);
            }
            assert_eq!(kernel.irps_outstanding(), 0, "every IRP of the race is freed");
        },
        schedules as usize,
    );
    let elapsed = start.elapsed();
    println!("schedules {schedules}");
    println!("elapsed_ns {}", elapsed.as_nanos());
    println!("driver_won {}", DRIVER_WON.load(Ordering::Relaxed));
    ExitCode::SUCCESS
}

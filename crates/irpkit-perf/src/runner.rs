//! Contenders measured in alternation on one thread: each round runs every contender once,
//! the starting contender rotating from round to round (A B, B A, A B, …), so slow phases
//! of a shared, noisy machine hit all of them alike. Figures are medians over rounds, and
//! ratios are medians of the per-round ratios.

use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Rounds (one sample per contender each).
    pub rounds: usize,
    /// Each sample runs the workload this long at least (the iteration count is calibrated
    /// once, before the rounds).
    pub batch: Duration,
}

/// A workload that runs `n` iterations per call.
pub struct Contender<'a> {
    /// Its name in the report.
    pub label: String,
    run: Box<dyn FnMut(u64) + 'a>,
    iterations: u64,
}

impl<'a> Contender<'a> {
    /// A contender running `run(n)` for `n` iterations.
    pub fn new(label: impl Into<String>, run: impl FnMut(u64) + 'a) -> Self {
        Contender { label: label.into(), run: Box::new(run), iterations: 0 }
    }

    /// Runs `n` iterations (outside any measurement: for counting allocations, say).
    pub fn run(&mut self, n: u64) {
        (self.run)(n)
    }

    /// Finds an iteration count whose run takes at least `batch` (this also warms up).
    fn calibrate(&mut self, batch: Duration) {
        let mut n = 1u64;
        loop {
            let t = time(|| (self.run)(n));
            if t >= batch || n >= 1 << 32 {
                break;
            }
            let scale = if t.is_zero() { 16.0 } else { (batch.as_secs_f64() / t.as_secs_f64() * 1.2).clamp(1.5, 16.0) };
            n = ((n as f64) * scale).ceil() as u64;
        }
        self.iterations = n;
    }

    /// One sample: nanoseconds per iteration.
    fn sample(&mut self) -> f64 {
        let n = self.iterations.max(1);
        time(|| (self.run)(n)).as_nanos() as f64 / n as f64
    }
}

/// Measures how long `f` takes.
pub fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Per-iteration times of each contender, one sample per round (`result[c][round]`).
pub fn interleave(contenders: &mut [Contender<'_>], settings: &Settings) -> Vec<Vec<f64>> {
    for c in contenders.iter_mut() {
        c.calibrate(settings.batch);
    }
    alternate(contenders.len(), settings.rounds, |i| contenders[i].sample())
}

/// Calls `trial(i)` for every contender `i` once per round, the first contender rotating
/// each round; returns the samples by contender (`result[i][round]`).
pub fn alternate(contenders: usize, rounds: usize, mut trial: impl FnMut(usize) -> f64) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::with_capacity(rounds); contenders];
    for round in 0..rounds {
        for k in 0..contenders {
            let i = (round + k) % contenders;
            samples[i].push(trial(i));
        }
    }
    samples
}

//! Random scenario files, run: whatever a file asks of the correct sample drivers — any
//! mix of processes, threads, handles (overlapped or not, duplicated, closed while
//! requests are pending), reads, writes and device controls with or without timeouts,
//! waits, CancelIo, CancelIoEx, CancelSynchronousIo, thread and process exits — every
//! request ends accounted for (delivered, refused or disassociated, never lost), the run
//! finishes, and the verifier reports nothing.
//!
//! Each case is generated from a seed; a failure prints the seed and the file, which
//! reproduce it. More cases: `IRPKIT_SCENARIO_CASES=2000 cargo test --release -p
//! irpkit-cli --test random_scenarios` (`IRPKIT_SCENARIO_SEED` sets the first seed).

use std::fmt::Write as _;
use std::path::Path;

use irpkit::explore::Rng;
use irpkit_cli::scenario;
use irpkit_cli::scenario::run::End;

const DEVICES: [&str; 5] = ["pending-read", "serial", "disk", "csq-worker", "stubborn"];

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

/// One random scenario file. What a real program would hang on with the driver that never
/// completes is left out, as it hangs on Windows too: a synchronous request to it (only
/// CancelSynchronousIo could free the thread, and that driver ignores cancels), CancelIo
/// on its handle (CancelIo waits for the requests it cancelled), and a wait without a
/// timeout. On the real clock that driver is left out altogether: a thread exiting with a
/// request on it waits five real minutes.
fn generate(seed: u64, clock: &str) -> String {
    let mut rng = Rng::new(seed);
    let mut f = String::new();
    let _ = writeln!(f, "name = \"random-{seed}\"\nseed = {seed}\nclock = \"{clock}\"\n");
    let devices = if clock == "real" { &DEVICES[..4] } else { &DEVICES[..] };
    for (i, driver) in devices.iter().enumerate() {
        let _ = writeln!(f, "[[device]]\nname = \"d{i}\"\ndriver = \"{driver}\"");
        if *driver != "stubborn" {
            let _ = writeln!(f, "hardware_ms = {}", 1 + rng.below(5));
        }
        if matches!(*driver, "serial" | "disk") && rng.chance(0.5) {
            let _ = writeln!(f, "deferred_start_io = false");
        }
        let _ = writeln!(f);
    }
    let processes = 1 + rng.below(2);
    for p in 0..processes {
        let _ = writeln!(f, "[[process]]\nname = \"p{p}\"\n");
        let threads = 1 + rng.below(4);
        for t in 0..threads {
            let _ = writeln!(f, "[[process.thread]]\nname = \"t{t}\"\nops = [");
            // This thread's handles: (name, device index, overlapped).
            let mut handles: Vec<(String, usize, bool)> = Vec::new();
            for h in 0..1 + rng.below(2) {
                let device = rng.below(devices.len() as u64) as usize;
                let overlapped = DEVICES[device] == "stubborn" || rng.chance(0.7);
                let name = format!("h{t}_{h}");
                let _ = writeln!(
                    f,
                    "  {{ op = \"open\", device = \"d{device}\", handle = \"{name}\", overlapped = {overlapped} }},"
                );
                handles.push((name, device, overlapped));
            }
            let mut issued: Vec<String> = Vec::new(); // this thread's overlapped request ids
            let mut n = 0;
            for _ in 0..3 + rng.below(9) {
                let (h, device, overlapped) = pick(&mut rng, &handles).clone();
                let stubborn = DEVICES[device] == "stubborn";
                match rng.below(100) {
                    0..=39 => {
                        let op = *pick(&mut rng, &["read", "read", "write"]);
                        let id = format!("p{p}t{t}r{n}");
                        n += 1;
                        let timeout = if overlapped && rng.chance(0.3) {
                            format!(", timeout_ms = {}", 1 + rng.below(6))
                        } else {
                            String::new()
                        };
                        let _ = writeln!(f, "  {{ op = \"{op}\", handle = \"{h}\", id = \"{id}\"{timeout} }},");
                        if overlapped {
                            issued.push(id);
                        }
                    }
                    40..=44 => {
                        let id = format!("p{p}t{t}r{n}");
                        n += 1;
                        let _ = writeln!(f, "  {{ op = \"ioctl\", handle = \"{h}\", code = 2236416, id = \"{id}\" }},");
                        if overlapped {
                            issued.push(id);
                        }
                    }
                    45..=59 => {
                        let _ = writeln!(f, "  {{ op = \"sleep\", ms = {} }},", rng.below(4));
                    }
                    60..=66 if !issued.is_empty() => {
                        let r = pick(&mut rng, &issued).clone();
                        let _ = writeln!(
                            f,
                            "  {{ op = \"wait\", request = \"{r}\", timeout_ms = {} }},",
                            1 + rng.below(20)
                        );
                    }
                    67..=74 if !stubborn => {
                        let _ = writeln!(f, "  {{ op = \"cancel-io\", handle = \"{h}\" }},");
                    }
                    75..=84 => {
                        if !issued.is_empty() && rng.chance(0.6) {
                            let r = pick(&mut rng, &issued).clone();
                            let _ = writeln!(f, "  {{ op = \"cancel-io-ex\", handle = \"{h}\", request = \"{r}\" }},");
                        } else {
                            let _ = writeln!(f, "  {{ op = \"cancel-io-ex\", handle = \"{h}\" }},");
                        }
                    }
                    85..=88 => {
                        let other = rng.below(threads);
                        let _ = writeln!(f, "  {{ op = \"cancel-synchronous-io\", thread = \"t{other}\" }},");
                    }
                    89..=92 => {
                        let dup = format!("{h}_dup{n}");
                        n += 1;
                        let _ = writeln!(f, "  {{ op = \"duplicate\", handle = \"{h}\", as = \"{dup}\" }},");
                        let _ = writeln!(f, "  {{ op = \"close\", handle = \"{dup}\" }},");
                    }
                    93..=96 => {
                        // Closing while requests may be pending: IRP_MJ_CLEANUP. Later
                        // operations on it are operation errors (the handle is gone).
                        let _ = writeln!(f, "  {{ op = \"close\", handle = \"{h}\" }},");
                    }
                    97 => {
                        let _ = writeln!(f, "  {{ op = \"exit-thread\" }},");
                    }
                    98 => {
                        let _ = writeln!(f, "  {{ op = \"exit-process\" }},");
                    }
                    _ => {
                        let _ = writeln!(f, "  {{ op = \"sleep\", ms = 1 }},");
                    }
                }
            }
            let _ = writeln!(f, "]\n");
        }
    }
    f
}

fn check(seed: u64, clock: &str) {
    let text = generate(seed, clock);
    let spec = scenario::parse(Path::new("random.toml"), &text)
        .unwrap_or_else(|e| panic!("seed {seed}: the generated file does not parse: {e}\n{text}"));
    let s = scenario::run::run(&spec);
    let lost: Vec<&str> =
        s.requests.iter().filter(|r| matches!(r.end, End::Lost | End::Outstanding)).map(|r| r.id.as_str()).collect();
    let reports: Vec<String> = s.reports.iter().map(|r| r.to_string()).collect();
    assert!(
        s.failure.is_none() && lost.is_empty() && reports.is_empty(),
        "seed {seed} ({clock} clock): failure {:?}, lost {lost:?}, reports {reports:#?}\n{text}",
        s.failure
    );
    // Every request that got an IRP and was delivered has a completion time, and a
    // disassociated one is in the event log.
    for r in &s.requests {
        match &r.end {
            End::Completed { .. } => {
                assert!(r.completed_at.is_some(), "seed {seed}: {} has no completion time\n{text}", r.id)
            }
            End::Disassociated => {
                let irp = r.irp.expect("a disassociated request had an IRP");
                assert!(s.event_log.iter().any(|e| e.irp == irp), "seed {seed}: {} not logged\n{text}", r.id);
            }
            End::Refused(_) | End::Lost | End::Outstanding => {}
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn random_scenarios_lose_no_request_on_the_virtual_clock() {
    let first = env("IRPKIT_SCENARIO_SEED", 0);
    for seed in first..first + env("IRPKIT_SCENARIO_CASES", 60) {
        check(seed, "virtual");
    }
}

#[test]
fn random_scenarios_lose_no_request_on_the_real_clock() {
    let first = env("IRPKIT_SCENARIO_SEED", 0) + 1_000_000;
    for seed in first..first + env("IRPKIT_SCENARIO_CASES", 60) / 10 {
        check(seed, "real");
    }
}

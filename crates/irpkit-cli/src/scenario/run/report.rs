//! The report of a scenario run: the file's expectations checked, cancel latencies, and
//! the summary as a table and as JSON.

use super::model::{CancelCause, End, Request, RunSummary};
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::time::Duration;

/// Checks the file's expectations against the run.
pub(super) fn check_expectations(spec: &Scenario, s: &RunSummary) -> Vec<(String, bool, String)> {
    let e = &spec.expect;
    let mut out = Vec::new();
    if let Some(n) = e.reports {
        out.push((format!("{n} verifier report(s)"), s.reports.len() == n, format!("{} reported", s.reports.len())));
    }
    for rule in &e.rules {
        let seen = s.reports.iter().filter(|r| r.rule.id() == rule).count();
        out.push((format!("rule {rule} reported"), seen > 0, format!("reported {seen} time(s)")));
    }
    for (id, want) in &e.status {
        let got = s.requests.iter().find(|r| &r.id == id).map(|r| r.end.name());
        let detail = got.clone().unwrap_or_else(|| "never issued".to_string());
        out.push((format!("request {id} ends {want}"), got.as_deref() == Some(want.as_str()), detail));
    }
    for (code, n) in &e.event_log {
        let seen = s.event_log.iter().filter(|x| x.name == code).count();
        out.push((
            format!("{n} {code} event-log entr{}", if *n == 1 { "y" } else { "ies" }),
            seen == *n,
            format!("{seen} logged"),
        ));
    }
    if let Some(n) = e.timeouts {
        let fired = s.requests.iter().filter(|r| r.timed_out).count();
        out.push((format!("{n} request timeout(s) fired"), fired == n, format!("{fired} fired")));
    }
    if let Some(n) = e.operation_errors {
        let got = s.op_errors.len();
        out.push((format!("{n} operation error(s)"), got == n, format!("{got}")));
    }
    out
}

/// Percentiles of cancel latency (cancel asked → completion), in µs on the kernel's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Requests measured.
    pub count: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl RunSummary {
    /// Cancel latency over the requests that were asked to be cancelled and then completed.
    pub fn cancel_latency(&self) -> Option<Latency> {
        let mut v: Vec<f64> = self
            .requests
            .iter()
            .filter_map(|r| {
                let (asked, done) = (r.cancel_requested_at?, r.completed_at?);
                Some(done.saturating_sub(asked).as_secs_f64() * 1e6)
            })
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Latency { count: v.len(), p50_us: at(0.50), p90_us: at(0.90), p99_us: at(0.99), max_us: v[v.len() - 1] })
    }

    /// The request IRP `irp` carried, if it was one of the scenario's.
    pub fn request_of_irp(&self, irp: u64) -> Option<&Request> {
        self.requests.iter().find(|r| r.irp == Some(irp))
    }

    /// Requests by how they ended (`STATUS_SUCCESS`, `disassociated`, ...).
    pub fn by_end(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.requests {
            *m.entry(r.end.name()).or_insert(0) += 1;
        }
        m
    }

    /// The machine-readable summary, format `irpkit-run/1` (documented in
    /// `scenarios/README.md`).
    pub fn to_json(&self) -> serde_json::Value {
        let us = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6);
        serde_json::json!({
            "format": "irpkit-run/1",
            "scenario": self.name,
            "ok": self.ok(),
            "ended_at_us": self.ended_at.as_secs_f64() * 1e6,
            "requests": {
                "total": self.requests.len(),
                "by_status": self.by_end(),
                "unaccounted": self.unaccounted(),
                "timeouts": self.requests.iter().filter(|r| r.timed_out).count(),
                "list": self.requests.iter().map(|r| serde_json::json!({
                    "id": r.id,
                    "process": r.process,
                    "thread": r.thread,
                    "device": r.device,
                    "what": r.what,
                    "synchronous": r.synchronous,
                    "irp": r.irp,
                    "issued_at_us": r.issued_at.as_secs_f64() * 1e6,
                    "cancel_requested_at_us": us(r.cancel_requested_at),
                    "cancel_requested_by": r.cancel_requested_by.map(CancelCause::name),
                    "completed_at_us": us(r.completed_at),
                    "timed_out": r.timed_out,
                    "end": r.end.name(),
                    "information": match r.end { End::Completed { information, .. } => Some(information), _ => None },
                })).collect::<Vec<_>>(),
            },
            "cancel_latency_us": self.cancel_latency().map(|l| serde_json::json!({
                "count": l.count, "p50": l.p50_us, "p90": l.p90_us, "p99": l.p99_us, "max": l.max_us,
            })),
            "event_log": self.event_log.iter().map(|e| serde_json::json!({
                "code": e.code, "name": e.name, "device": e.device, "irp": e.irp, "thread": e.thread,
                "request": self.request_of_irp(e.irp).map(|r| &r.id),
                "at_us": e.at.as_secs_f64() * 1e6,
            })).collect::<Vec<_>>(),
            "verifier_reports": self.reports.iter().map(|r| serde_json::json!({
                "rule": r.rule.id(),
                "code": r.rule.bugcheck().map(|b| b.to_string()),
                "irp": r.irp.as_ref().map(|i| i.id),
                "message": r.to_string(),
            })).collect::<Vec<_>>(),
            "debug_output": self.debug_output.iter().map(|d| serde_json::json!({
                "at_ms": d.at.as_secs_f64() * 1e3,
                "driver": d.driver,
                "text": d.text,
            })).collect::<Vec<_>>(),
            "failure": self.failure,
            "operation_errors": self.op_errors,
            "expectations": self.expectations.iter().map(|(what, held, detail)| serde_json::json!({
                "expect": what, "held": held, "got": detail,
            })).collect::<Vec<_>>(),
        })
    }

    /// The human summary: one line per request, then totals, reports, expectations.
    pub fn write_table(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.write_requests(out)?;
        self.write_totals(out)?;
        self.write_logs(out)?;
        writeln!(out, "verifier reports: {}", self.reports.len())?;
        for r in &self.reports {
            for line in r.to_string().lines() {
                writeln!(out, "  {line}")?;
            }
        }
        for e in &self.op_errors {
            writeln!(out, "operation error: {e}")?;
        }
        if let Some(f) = &self.failure {
            writeln!(out, "the run did not finish cleanly: {f}")?;
        }
        for (what, held, got) in &self.expectations {
            writeln!(out, "expect {what}: {} ({got})", if *held { "holds" } else { "FAILS" })?;
        }
        Ok(())
    }

    /// The table's head and one line per request.
    fn write_requests(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let t = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), |d| format!("{:.3}", d.as_secs_f64() * 1e3));
        writeln!(out, "scenario {}", self.name)?;
        writeln!(
            out,
            "{:<22} {:<18} {:<14} {:>7} {:>9} {:>9} {:<20} {:>9}  end",
            "request", "thread", "what", "irp", "issued", "cancel", " asked by", "done"
        )?;
        for r in &self.requests {
            let end = match &r.end {
                End::Completed { information, .. } => format!("{} ({information} bytes)", r.end.name()),
                other => other.name(),
            };
            writeln!(
                out,
                "{:<22} {:<18} {:<14} {:>7} {:>9} {:>9} {:<20} {:>9}  {end}{}",
                r.id,
                format!("{}/{}", r.process, r.thread),
                r.what,
                r.irp.map_or_else(|| "-".to_string(), |i| format!("#{i}")),
                t(Some(r.issued_at)),
                t(r.cancel_requested_at),
                r.cancel_requested_by.map_or(String::new(), |by| format!(" {}", by.name())),
                t(r.completed_at),
                // A timeout that fired after someone else had asked is worth a word.
                if r.timed_out && r.cancel_requested_by != Some(CancelCause::Timeout) { "  (timed out)" } else { "" }
            )?;
        }
        Ok(())
    }

    /// The requests by end, and the cancel latency.
    fn write_totals(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(out, "(times in ms on the kernel's clock)")?;
        let by: Vec<String> = self.by_end().iter().map(|(k, v)| format!("{v} {k}")).collect();
        writeln!(
            out,
            "\nsummary: {} requests: {}; unaccounted: {}",
            self.requests.len(),
            if by.is_empty() { "none".to_string() } else { by.join(", ") },
            self.unaccounted()
        )?;
        if let Some(l) = self.cancel_latency() {
            writeln!(
                out,
                "cancel latency (cancel asked -> completion, {} requests): p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us",
                l.count, l.p50_us, l.p90_us, l.p99_us, l.max_us
            )?;
        }
        Ok(())
    }

    /// The event log, with the request of each entry, and the drivers' debug output.
    fn write_logs(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for e in &self.event_log {
            let whose = match self.request_of_irp(e.irp) {
                Some(r) => format!("request {} of {}/{}", r.id, r.process, r.thread),
                None => format!("thread {}", e.thread),
            };
            writeln!(
                out,
                "event log: 0x{:08X} {} for {} (IRP #{}, {whose}) at {:.3} ms",
                e.code,
                e.name,
                e.device,
                e.irp,
                e.at.as_secs_f64() * 1e3
            )?;
        }
        if !self.debug_output.is_empty() {
            writeln!(out, "debug output ({} line(s)):", self.debug_output.len())?;
            for d in &self.debug_output {
                writeln!(
                    out,
                    "  {:>9.3} ms  {}: {}",
                    d.at.as_secs_f64() * 1e3,
                    d.driver.as_deref().unwrap_or("(no driver)"),
                    d.text
                )?;
            }
        }
        Ok(())
    }
}

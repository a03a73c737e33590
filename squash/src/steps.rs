//! The step runner the squash and the workspace's commands (`cargo xtask verify`, `reset`, `lint`)
//! share. It runs a command's steps in order: prints `==> step`, then `ok` or `FAILED` with its time, and
//! keeps one row per step for the command's JSON report. A step that runs long says so every few
//! seconds ([`heartbeat`]), so no step is silent for more than [`HEARTBEAT`].

use std::fmt::Display;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One finished step, as a JSON report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow<S> {
    /// The step.
    pub name: S,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took.
    pub seconds: f64,
    /// Why it failed, with its causes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs steps one after another, timing and printing each.
pub struct Steps<S> {
    started: Instant,
    rows: Vec<StepRow<S>>,
    context: Box<dyn Fn(S) -> String>,
    after_step: Option<fn(S) -> anyhow::Result<()>>,
    quiet: bool,
}

impl<S: Copy + Display> Steps<S> {
    /// Returns a runner whose failed steps get the context `context(step)`.
    pub fn new(context: impl Fn(S) -> String + 'static) -> Steps<S> {
        Steps { started: Instant::now(), rows: Vec::new(), context: Box::new(context), after_step: None, quiet: false }
    }

    /// Prints nothing per step when `quiet` (a caller that reports on its own, such as a
    /// benchmark); a step that runs long still says so.
    pub fn quiet(mut self, quiet: bool) -> Steps<S> {
        self.quiet = quiet;
        self
    }

    /// Sets a hook that runs after each step that succeeded; its error stops the run, as it is.
    pub fn after_step(mut self, hook: Option<fn(S) -> anyhow::Result<()>>) -> Steps<S> {
        self.after_step = hook;
        self
    }

    /// Runs step `step`, printing it and its time, and passes its value through. While it runs,
    /// it says so every [`HEARTBEAT`].
    pub fn run<T>(&mut self, step: S, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.run_with(step, |f| heartbeat(&step.to_string(), f), f)
    }

    /// Does [`Steps::run`] for a step that reports its own progress at least every [`HEARTBEAT`].
    pub fn run_talking<T>(&mut self, step: S, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.run_with(step, |f| f(), f)
    }

    fn run_with<T, F: FnOnce() -> anyhow::Result<T>>(
        &mut self,
        step: S,
        around: impl FnOnce(F) -> anyhow::Result<T>,
        f: F,
    ) -> anyhow::Result<T> {
        if !self.quiet {
            eprintln!("==> {step}");
        }
        let started = Instant::now();
        let result = around(f).map_err(|e| e.context((self.context)(step)));
        let seconds = started.elapsed().as_secs_f64();
        if !self.quiet {
            eprintln!("    {} in {seconds:.2}s", if result.is_ok() { "ok" } else { "FAILED" });
        }
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        self.rows.push(StepRow { name: step, ok: error.is_none(), seconds, error });
        let value = result?;
        if let Some(hook) = self.after_step {
            hook(step)?;
        }
        Ok(value)
    }

    /// Returns the time since the runner was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Returns a row for each step run so far, in order.
    pub fn rows(&self) -> &[StepRow<S>] {
        &self.rows
    }
}

/// How long work may run before [`heartbeat`] says it is still running, and then again each time.
pub const HEARTBEAT: Duration = Duration::from_secs(8);

/// Runs `work` on this thread; while it runs, prints `    ... <what>: still running after <n>s`
/// every [`HEARTBEAT`] on stderr. Work that ends sooner prints nothing.
pub fn heartbeat<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let (finished, ticks) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let started = Instant::now();
            while let Err(RecvTimeoutError::Timeout) = ticks.recv_timeout(HEARTBEAT) {
                eprintln!("    ... {what}: still running after {:.0}s", started.elapsed().as_secs_f64());
            }
        });
        let value = work();
        drop(finished);
        value
    })
}

/// Returns `d` in milliseconds, as reports and benchmarks print times.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        static HOOKED: Cell<u32> = const { Cell::new(0) };
    }

    fn count_and_fail_on_stop(step: &'static str) -> anyhow::Result<()> {
        HOOKED.with(|h| h.set(h.get() + 1));
        anyhow::ensure!(step != "stop", "hook stopped at {step}");
        Ok(())
    }

    #[test]
    fn rows_record_each_step_and_failures_get_the_context() {
        let mut steps = Steps::new(|name| format!("step `{name}`"));
        assert_eq!(steps.run("first", || Ok(7)).unwrap(), 7);
        let err = steps.run("second", || -> anyhow::Result<()> { anyhow::bail!("broke") }).unwrap_err();
        assert_eq!(format!("{err:#}"), "step `second`: broke");
        let rows = steps.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].name, rows[0].ok, rows[0].error.as_deref()), ("first", true, None));
        assert_eq!(
            (rows[1].name, rows[1].ok, rows[1].error.as_deref()),
            ("second", false, Some("step `second`: broke"))
        );
        assert!(steps.elapsed().as_secs_f64() >= rows.iter().map(|r| r.seconds).sum::<f64>());
        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(json, serde_json::json!({"name": "first", "ok": true, "seconds": rows[0].seconds}));
    }

    #[test]
    fn the_hook_runs_after_successes_only_and_its_error_is_not_the_steps() {
        HOOKED.with(|h| h.set(0));
        let mut steps = Steps::new(|name| format!("step `{name}`")).after_step(Some(count_and_fail_on_stop));
        steps.run("go", || Ok(())).unwrap();
        steps.run("fails", || -> anyhow::Result<()> { anyhow::bail!("broke") }).unwrap_err();
        assert_eq!(HOOKED.with(Cell::get), 1, "no hook after a failed step");
        let err = steps.run("stop", || Ok(())).unwrap_err();
        assert_eq!(format!("{err:#}"), "hook stopped at stop", "the step's context is not added to the hook's error");
        assert_eq!(HOOKED.with(Cell::get), 2);
        assert!(steps.rows()[2].ok, "the step itself succeeded");
    }

    #[test]
    fn millis_converts() {
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
    }
}

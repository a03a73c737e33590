//! Proves the `sdm` app, Python's LangGraph library (the real one, from PyPI) and LangGraph.js
//! (the real one, from npm) share rows every way.
//!
//! Python runs `python/interop.py` with the workspace venv's interpreter, `.venv/bin/python`
//! (made by `python3 python/setup-venv.py`; `SDM_PYTHON` picks another one). Without it these
//! tests fail and say how to make it. With `SDM_SKIP_PYTHON=1` at build time, app's build script
//! sets `cfg(sdm_skip_python)` and every test here is reported as ignored, never as passed.
//!
//! JavaScript runs `js/interop.mjs` with Node.js and the libraries pinned in `js/package-lock.json`,
//! installed into `js/node_modules` by `python3 js/setup-node-modules.py`; without them these
//! tests fail and say how to install them, and `SDM_SKIP_JS=1` at build time
//! (`cfg(sdm_skip_js)`) reports them as ignored.
//!
//! One test binary, so one `interop.py serve` and one `interop.mjs serve` worker answer every
//! test's requests.

mod support;

mod deletes;
mod ids;
mod js_reads_the_app;
mod js_setup;
mod mixed_threads;
mod python_reads_rust;
mod rust_reads_python;
mod setup;
mod the_app_reads_js;

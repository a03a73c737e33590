//! Proves the `sdm` app and Python's LangGraph library (the real one, from PyPI) share rows both ways.
//!
//! Python runs `python/interop.py` with the workspace venv's interpreter, `.venv/bin/python`
//! (made by `python3 python/setup-venv.py`; `SDM_PYTHON` picks another one). Without it these
//! tests fail and say how to make it. With `SDM_SKIP_PYTHON=1` at build time, app's build script
//! sets `cfg(sdm_skip_python)` and every test here is reported as ignored, never as passed.
//!
//! One test binary, so one `interop.py serve` worker answers every test's requests.

mod support;

mod deletes;
mod ids;
mod python_reads_rust;
mod rust_reads_python;
mod setup;

//! The per-frame pipeline that ties the layers together, and the two passes.
//!
//! * [`dissect`] turns one frame into one row: link → IP → TCP → tracker → application.
//! * [`board`] lets a second pass follow a first pass running ahead on another thread.
//!
//! This is the top of the crate: it uses every other module and none uses it.

pub mod board;
pub mod dissect;

//! `wirenote explain` and `wirenote report`: a connection's story in the words of the lab
//! report, as text (one line per packet), as a ladder (sequence) diagram in SVG, and as a
//! self-contained HTML page of a whole capture.
//!
//! The views read records the pipeline already produces (packet rows with their
//! lifecycle roles and both ends' states, connection records, HTTP exchanges); nothing
//! here re-dissects. Modules, one way: `wording` (the phrases, `explain.tsv`) ←
//! `facts` (what each packet means: steps, state changes, caching) ← `summary`, `text`
//! ← `ladder` (the diagram's model: rows, arrows, marks, brackets, gaps) ← `svg` ←
//! `report`; `markup` (escaping, text widths) is a leaf.

mod facts;
mod ladder;
mod markup;
mod report;
mod summary;
mod svg;
mod text;
mod wording;

pub use ladder::{GAP_SECONDS, MAX_ARROWS};
pub use report::{report_html, ReportInput, MAX_LADDERS};
pub use svg::{ladder_svg, Ladder};
pub use text::explain_stream;
pub use wording::Language;

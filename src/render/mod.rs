//! Renderers: table, JSON, CSV; all write finished rows to a `&mut dyn Write`.

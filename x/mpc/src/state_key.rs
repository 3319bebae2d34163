//! TODO(issue 6): see lib.rs.

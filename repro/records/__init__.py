"""Record: run crates, campaign crates, the run store and crate validation."""

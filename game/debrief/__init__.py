"""After the game: the debrief's analysis and pages, the per-student report, the Monte Carlo
bands, the export files and replay. docs/architecture.md, "game/"."""

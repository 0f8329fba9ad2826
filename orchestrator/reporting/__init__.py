"""The read side: job views shared by the CLI, pages and API; outcome metrics (cost per merged PR),
trends, the sprint report, the gate report's view and the charts."""

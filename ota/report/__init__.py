"""What leaves a run: its report and summary (and, later, logs, issue reports, notifications)."""

"""What leaves a run: its report and summary (`summary`), the run as JSON and the status file
kept across runs (`status`), failure reports as issues (`issues`, on a `forge`), notifications
(`notify`), and `deliver.deliver`, which does all of these after each run."""

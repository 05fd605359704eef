from shared import early_signals

early_signals.install()  # before the CLI's imports: see shared/early_signals.py

from tubeq.cli.main import run  # noqa: E402

early_signals.release()
run()

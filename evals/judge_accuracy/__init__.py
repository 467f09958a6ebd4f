"""How accurate the configured LLM judge is on audited flags, and whether it is worth turning on
(``gtqa evals judge-accuracy``): ``sample`` picks the flags, ``ask`` asks the model, ``measure`` scores
its answers (accuracy per issue type with intervals, calibration, cost, the break-even verdict, the
fusion weight)."""

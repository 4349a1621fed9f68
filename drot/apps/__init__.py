"""Applications (paper §6.2): parameter models plugged into the shared optimizer and hybrid schedule.

Each module builds a :class:`drot.Scene` whose geometry model (``Scene.geometry``, fed by
parameters of kind ``"model"``) maps the application's parameters to vertices; ``drot.optimize``
then runs the same loop and the same hybrid-gradient scheduler for all of them.
"""

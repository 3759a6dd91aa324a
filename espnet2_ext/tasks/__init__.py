"""ESPnet task classes with espnet2_ext's registration.

Each class is ESPnet's own task, unchanged, defined in a module of this
package: ESPnet's DDP launcher spawns workers that unpickle ``cls.main_worker``,
and unpickling a class of ``espnet2_ext`` imports the package, which registers
our names into ESPnet in the worker too.
"""

"""The pure pieces both the server (`app/`) and the command line (`training/`) stand on.

Nothing here knows of HTTP, settings or the model store: the NumPy network (forward and,
beside it, backward), the MNIST form of an image, the MNIST readers, and the Keras recipe that
builds, compiles and fits a network. Arrows point one way: `app/` and `training/` import
`core/`; `core/` imports neither.
"""

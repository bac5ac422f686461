__version__ = "0.1.0"

def __getattr__(name):  # `fermask.load_model()`: the bundled model, without importing torch on `import fermask`
    if name == 'load_model':
        from fermask.checkpoints import load_model
        return load_model
    raise AttributeError(f"module 'fermask' has no attribute {name!r}")

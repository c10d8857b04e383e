"""tunesmith: Transformer music generation, from music files to a trained model to new MIDI, audio and pictures.

    import tunesmith
    reading, [gen] = tunesmith.compose("a slow, sad chorale in D minor for strings, 16 bars")  # the bundled model
    tunesmith.build_dataset(["music21:bach"], "data/bach")           # music files -> dataset folder
    tunesmith.train("data/bach", "runs/bach", tunesmith.TrainConfig(preset="small", max_minutes=10))
    model = tunesmith.load("runs/bach")                              # a model folder (safetensors + JSON)
    [gen] = model.generate(tunesmith.GenerationOptions(controls=tunesmith.Controls(meter="3/4", tempo=90), bars=8))
    tunesmith.save_generation(gen, "out", "waltz")                   # .mid .wav .png .json
"""

from importlib import import_module

__version__ = "0.1.0"

# Heavy modules (torch, transformers, music21) load on first use, so `tunesmith --help` stays fast.
_EXPORTS = {
    "load": "tunesmith.generate",
    "compose": "tunesmith.generate",
    "read_prompt": "tunesmith.prompt",
    "UnservableAsk": "tunesmith.prompt",
    "Model": "tunesmith.generate",
    "GenerationOptions": "tunesmith.generate",
    "Generation": "tunesmith.generate",
    "save_generation": "tunesmith.generate",
    "Controls": "tunesmith.tokenizer",
    "Tokenizer": "tunesmith.tokenizer",
    "build_dataset": "tunesmith.data.build",
    "Dataset": "tunesmith.data.dataset",
    "train": "tunesmith.train",
    "recipe_stages": "tunesmith.train",
    "train_stages": "tunesmith.train",
    "TrainConfig": "tunesmith.train",
    "ModelConfig": "tunesmith.model",
    "TranscribeOptions": "tunesmith.transcribe",
    "export_musicxml": "tunesmith.score_export",
    "TunesmithError": "tunesmith.errors",
    "BadInputError": "tunesmith.errors",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tunesmith' has no attribute {name!r}")

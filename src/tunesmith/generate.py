"""Generation: a trained model + controls (+ an optional MIDI prompt) -> new MIDI, WAV and piano roll."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import symusic
import torch

from tunesmith import ops
from tunesmith.adherence import (adherence_report, bar_start_tick, from_bar, instruments_hold, measure_programs,
                                 voices_heard)
from tunesmith.constraints import Constraints, KeyBias, RemiGrammar
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import atomic_path, write_json
from tunesmith.guidance import StyleGuidance, has_style, without_style
from tunesmith.instruments import (CHOIR, DRUMS, doubling_parts, keep_outer_voices, most_played, native_voicing,
                                   pieces_per_program, playable_voices, program_name, unlearned, voice_by_register)
from tunesmith.model import ModelConfig, build_model, load_model_config, load_weights, model_folder
from tunesmith.ops import HAND_SPAN, MAX_VOICES
from tunesmith.tokenizer import Controls, Tokenizer
from tunesmith.typical import typical_controls

if TYPE_CHECKING:
    from tunesmith.prompt import Reading


PART_LINES = 3  # independent lines an ensemble's piece needs before it is kept rather than retried in parts
REDRAWN = ("key", "mood", "mode", "stuck", "voices", "parts")  # the checks a failing candidate is drawn again
#                                                                  for (the others are enforced while decoding)
ASKED = ("key", "mood", "mode", "voices")  # of those, the ones the user asked for: between candidates passing as
#                                            many checks, the one passing more of these is kept
TOKENS_PER_BAR = 600  # token budget per requested bar: dense piano bars reach ~300 tokens; the budget only
#                       stops a runaway, and a piece cut short by it fails its `bars` check rather than hiding it


@dataclass(frozen=True)
class GenerationOptions:
    controls: Controls = Controls()  # style, key, meter, tempo, instruments to condition on (None = free)
    bars: int | None = 16  # bars to generate (exactly; None = until the model ends or max_new_tokens)
    prompt_midi: str | None = None  # continue the opening of this MIDI file
    prompt_bars: int = 4  # how many bars of prompt_midi to keep as the opening
    greedy: bool = False  # always take the most likely token (ignores temperature/top-k/top-p)
    temperature: float = 1.0  # < 1 safer, > 1 more adventurous
    top_k: int = 0  # sample among the k most likely tokens (0 = off)
    top_p: float = 0.95  # nucleus sampling mass (1.0 = off)
    num_beams: int = 1  # beam search width (1 = sampling / greedy)
    num_samples: int = 1  # independent pieces to generate
    seed: int = 0  # same seed and options => identical MIDI
    max_new_tokens: int | None = None  # token budget (default: from bars, capped by the context)
    text: str | None = None  # the prompt sentence; its embedding conditions models that read text
    mood: str | None = None  # happy / sad / calm / energetic: checked on the output through mode and tempo
    mode: str | None = None  # "major" / "minor" asked without a tonic (checked, not forced)
    candidates: int = 4  # pieces tried per sample until the key (and mood) measure as asked and the piece is not
    #                      stuck in a loop (adherence.longest_stuck_run); the best is kept
    fix_key: bool = True  # move a candidate into the asked key when only its tonic is off (reported)
    key_bias: float = 1.0  # strength of the pull of pitch choices towards the asked tonic and mode, on every
    #                        candidate after the first (which has only the conditioning and a move onto the
    #                        tonic): the tonic and the mode's third favoured, the other mode's third shunned,
    #                        chromatic notes left alone (constraints.key_bias_vector); 0 = never
    style_guidance: float = 1.0  # classifier-free guidance towards the asked style (collection, composer, genre,
    #                              sentence): 1 = plain conditioning, > 1 pushes harder (guidance.py)
    typical: bool = True  # a meter, tempo or instrumentation not asked is taken from one of the asked style's
    #                       training pieces, drawn per sample (typical.py); False leaves them to the model
    hand_span: int | None = HAND_SPAN  # notes a keyboard strikes together fit two hands of five fingers, each
    #                                    reaching this many semitones (ops.fits_two_hands); None = any chord
    voices: int | None = None  # "for four voices": never more notes than this sound together (held notes
    #                            included, on all instruments), and all of them for part of the piece (checked
    #                            and redrawn); fewer than ops.WRITTEN_VOICES are the outer voices of a texture
    #                            written in that many (not with a MIDI prompt); None = any texture

    @property
    def written_voices(self) -> int | None:
        """The voices decoding allows: those asked, or the outer ones are kept from ops.WRITTEN_VOICES."""
        if self.voices is None or self.prompt_midi:
            return self.voices
        return max(self.voices, ops.WRITTEN_VOICES)

    @classmethod
    def from_reading(cls, reading: "Reading", **options) -> "GenerationOptions":
        """The options that serve a prompt as understood (its controls, length, sentence, mood, mode and
        voices), with `options` (seed=..., candidates=...) on top."""
        from tunesmith.prompt import preferred_mode

        served = dict(controls=reading.controls, bars=reading.bars or None,  # 0 bars: the model decides
                      text=reading.text or None, mood=reading.mood, mode=preferred_mode(reading), voices=reading.voices)
        return cls(**{**served, **options})


@dataclass
class Generation:
    score: symusic.Score
    ids: list[int]  # the full sequence: BOS, controls, prompt, generated music (as sampled: fewer voices asked
    #                 than written are thinned in `score` only)
    options: GenerationOptions
    new_tokens: int
    seconds: float
    report: dict = field(default_factory=dict)  # requested vs measured for every control asked (adherence.py)
    candidates: int = 1  # pieces tried to get the key / mood right (this one is the kept one)


class Model:
    """A trained tunesmith model: tokenizer + decoder, ready to generate."""

    def __init__(self, model, tokenizer: Tokenizer, config: ModelConfig, folder: Path | None = None):
        self.model, self.tokenizer, self.config, self.folder = model.eval(), tokenizer, config, folder

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ---- prompts ---------------------------------------------------------------------------
    def prompt_ids(self, opts: GenerationOptions, text: bool = False) -> list[int]:
        """BOS (+ Text placeholders) + control tokens (+ the first prompt_bars bars of prompt_midi)."""
        ids = self.tokenizer.control_ids(opts.controls, strict=True, text=text)
        if opts.prompt_midi:
            path = Path(opts.prompt_midi)
            if not path.is_file():
                raise BadInputError(path, "no such MIDI file")
            try:
                score = symusic.Score(str(path))
            except Exception as e:
                raise BadInputError(path, f"not a readable MIDI file ({type(e).__name__}: {e})") from e
            if score.note_num() == 0:
                raise BadInputError(path, "the MIDI file has no notes")
            music = self.tokenizer.encode_music(score).tolist()
            bars = [i for i, t in enumerate(music) if t == self.tokenizer.bar_id]
            if len(bars) > opts.prompt_bars:
                music = music[: bars[opts.prompt_bars]]
            ids += music
        return ids

    # ---- generation ------------------------------------------------------------------------
    def generate(self, opts: GenerationOptions = GenerationOptions()) -> list[Generation]:
        """Generate `opts.num_samples` pieces; every one decodes to MIDI or a TunesmithError is raised.

        Meter, tempo, instruments and bars are enforced while decoding (tunesmith.constraints). The key
        and mood are steered by conditioning, then measured (music21), and every piece is checked for a
        sampler's loop (adherence.longest_stuck_run), for an ensemble's resting parts (adherence.longest_silence)
        and, with voices asked, for its texture: up to
        `opts.candidates` pieces are tried per sample and the first that passes these checks (else the
        best) is kept; with `fix_key` a candidate in
        the right mode but on another tonic is transposed into the asked key (its report says so) rather
        than drawn again; the candidates after the first are pulled towards the key (`opts.key_bias`).
        """
        if opts.hand_span is not None and opts.hand_span < 0:
            raise TunesmithError(f"hand_span {opts.hand_span}: a hand reaches 0 or more semitones "
                                 "(any chord: --hand-span 0, or hand_span=None)")
        if opts.voices is not None and not 1 <= opts.voices <= MAX_VOICES:
            raise TunesmithError(f"voices {opts.voices}: ask for 1 to {MAX_VOICES} voices (any texture: voices=None)")
        text_embeds = self._text_embeds(opts)
        written, written_why = self._written_as(opts.controls)
        budget = opts.max_new_tokens or (opts.bars * TOKENS_PER_BAR if opts.bars else self.config.max_len)
        sampling = dict(num_beams=opts.num_beams)
        deterministic = opts.greedy or opts.num_beams > 1
        if deterministic:
            sampling.update(do_sample=False)
        else:
            sampling.update(do_sample=True, temperature=opts.temperature, top_k=opts.top_k or None,
                            top_p=opts.top_p if opts.top_p < 1 else None)
        tries = 1 if deterministic else max(1, opts.candidates)  # another draw only for a piece that fails a check
        results, prepared = [], {}  # prompts by controls: samples that draw the same ones share it
        for k in range(opts.num_samples):
            asked, chosen = self._typical(opts, k)  # the asked controls, with the style's meter / tempo /
            #                                         instruments where unasked
            run, t0 = (asked, chosen, k, tries, budget, sampling, text_embeds, prepared), time.time()
            best = self._sample(*run, written)
            if written_why:
                best.report["instruments"]["written_why"] = written_why
            thin = self._fewer_voices_than_parts(best, written)
            for retry in range((1 if deterministic else max(1, opts.candidates)) if thin else 0):
                # fewer voices than the ensemble asked (folk styles are melodies): parts, written for choir
                parts = self._sample(*run, (CHOIR,), salt=retry + 1)
                if self._own_parts(parts) > self._own_parts(best):
                    parts.report["instruments"]["written_why"] = "in parts: the first try had fewer voices"
                    best = parts
                if not self._fewer_voices_than_parts(best, None):
                    break
            best.seconds = time.time() - t0
            results.append(best)
        return results

    @staticmethod
    def _own_parts(gen: Generation) -> int:
        """How many of the instruments play a line of their own (not silent, not doubling another's)."""
        row = gen.report["instruments"]
        return len([p for p in row["measured"] if p != DRUMS and p not in row.get("doubling", ())])

    @staticmethod
    def _fewer_voices_than_parts(gen: Generation, written: tuple[int, ...] | None) -> bool:
        """Whether a piece for two or more pitched instruments, not already written in parts, left one silent or
        gave fewer than PART_LINES of them (or of all, if fewer) a line of their own: a melody, or a melody and
        its bass, doubled on a brass quartet is retried in parts; a piano piece in the style of Mozart with three
        lines for a wind quintet keeps its own texture."""
        row = gen.report.get("instruments")
        pitched = [p for p in (row or {}).get("requested", []) if p != DRUMS]
        if not row or len(pitched) < 2 or written == (CHOIR,):
            return False
        return not row["pass"] or Model._own_parts(gen) < min(len(pitched), PART_LINES)

    def _sample(self, asked: GenerationOptions, chosen: dict[str, str], k: int, tries: int, budget: int,
                sampling: dict, text_embeds: torch.Tensor | None, prepared: dict,
                written: tuple[int, ...] | None, salt: int = 0) -> Generation:
        """Sample k: up to `tries` candidates, each moved into the asked key when `fix_key` allows, the first
        that passes the REDRAWN checks (else the one passing most, and of those the one passing most ASKED
        checks) kept; written for `written` and voiced for the asked instruments.
        `salt` > 0 draws other candidates from the same seed (a retry)."""
        sample = replace(asked, controls=replace(asked.controls, instruments=written)) if written else asked
        if sample.controls not in prepared:
            prepared[sample.controls] = self._prepare(sample, text_embeds is not None)
        prompt, n_controls, unconditional = prepared[sample.controls]
        best, best_score, tried = None, (-1, -1), []
        for c in range(tries):
            torch.manual_seed(asked.seed + k + 1000 * c + 100_000 * salt)
            bias = asked.key_bias if asked.controls.key and c > 0 else 0.0  # the pull costs the music its accidentals
            seq = self._continue(prompt, n_controls, sample, budget, sampling, text_embeds, bias, unconditional)
            gen = self._finish(seq, len(prompt), replace(asked, seed=asked.seed + k), k, chosen, written)
            tried.append(gen.report["key"]["measured"] if "key" in gen.report else None)
            if asked.fix_key and asked.controls.key and not gen.report["key"]["pass"]:
                gen = self._into_key(gen, len(prompt)) or gen  # right mode, other tonic: moved, not redrawn
            score = candidate_score(gen.report)
            if score > best_score:
                best, best_score = gen, score
            if all(redrawn_checks(gen.report).values()):
                break
        best.candidates = c + 1
        if "key" in best.report:
            best.report["key"]["tried"] = tried  # the key measured on each candidate, in order (before any move)
        return best

    def _prepare(self, opts: GenerationOptions, text: bool) -> tuple[list[int], int, list[int] | None]:
        """The prompt ids, how many of them are controls, and the style-free controls for guidance (or None)."""
        tok = self.tokenizer
        prompt = self.prompt_ids(opts, text=text)
        n_controls = len(tok.control_ids(opts.controls, strict=True, text=text))
        if self.config.max_len - n_controls < 64:
            raise TunesmithError(f"too many controls for the model's context ({self.config.max_len} tokens)")
        guided = opts.style_guidance != 1.0 and has_style(opts.controls, text)
        return prompt, n_controls, tok.control_ids(without_style(opts.controls), strict=True) if guided else None

    def _typical(self, opts: GenerationOptions, k: int) -> tuple[GenerationOptions, dict[str, str]]:
        """`opts` with the meter, tempo and instruments the user left open drawn for sample k from the asked style's
        training pieces (not with a MIDI prompt, whose meter and tempo are the user's; not the tempo when
        a mood is asked, which has its own tempo rule), and where each came from."""
        if not opts.typical or opts.prompt_midi:
            return opts, {}
        tok = self.tokenizer
        meters = [m for m in tok.meters if m not in Constraints.unasked_meters_avoided]
        controls, chosen = typical_controls(opts.controls, tok.controls, opts.seed + k, meters, tempo=not opts.mood)
        return replace(opts, controls=controls), chosen

    def _text_embeds(self, opts: GenerationOptions) -> torch.Tensor | None:
        if not opts.text or not self.config.text_slots:
            return None
        from tunesmith.text import text_encoder

        return text_encoder().encode([opts.text]).to(self.device)

    def _written_as(self, controls: Controls) -> tuple[tuple[int, ...] | None, str | None]:
        """What to write the piece for, and why when the report's default ("the style's instrument in training")
        does not say it: the style's own instrument, when the one asked was never played in it in training
        (instruments.native_voicing); else, when an instrument asked is one the model seldom saw at all
        (instruments.unlearned: "a piece for church organ"), the instrument it saw most (the piano). The
        piece is written for that and voiced for the asked ones; (None, None) writes for them directly."""
        table = self.tokenizer.controls.instrumentation
        native = native_voicing(controls, table)
        rare = () if native else unlearned(controls.instruments, table)
        if not rare:
            return native, None
        pieces = pieces_per_program(table)
        seen = ", ".join(f"{program_name(p)} in {pieces.get(p, 0)}" for p in rare)
        return (most_played(table),), f"the instrument this model learned best: it saw {seen} of its training pieces"

    def _finish(self, seq: list[int], n_prompt: int, opts: GenerationOptions, k: int,
                chosen: dict[str, str] | None = None, written: tuple[int, ...] | None = None) -> Generation:
        """Decode a sequence into a Generation with its adherence report (`opts` as the user asked, with
        any control `chosen` for them marked so in the report). A piece `written` for other instruments
        is voiced for the asked ones by register; so is one that left an asked instrument silent."""
        tok = self.tokenizer
        score = tok.decode(seq)
        if score.note_num() == 0:
            raise TunesmithError(f"sample {k} decoded to a score without notes")
        pitched = tuple(p for p in opts.controls.instruments or () if p != DRUMS)
        played = [p for p in measure_programs(score) if p != DRUMS]
        shared = bool(pitched) and not written and not opts.prompt_midi and not instruments_hold(pitched, played)
        outer = opts.voices is not None and opts.written_voices > opts.voices
        if outer:  # "a chorale for two voices": the soprano and bass of the four the model wrote
            score = keep_outer_voices(score, opts.voices)
        prompt_bars = sum(1 for i in tok.music_part(seq[:n_prompt]) if i == tok.bar_id) if opts.prompt_midi else 0
        doubled, capped = [], None
        if written or shared:
            score, capped, doubled = self._voiced(score, pitched, opts, prompt_bars)
        if opts.controls.tempo:  # the Tempo token is a quantised bin: write the exact tempo asked for
            for t in score.tempos:
                t.qpm = float(opts.controls.tempo)
        gen = Generation(score, seq, opts, len(seq) - n_prompt, 0.0)
        gen.report = adherence_report(score, opts.controls, opts.bars, opts.mood, prompt_bars, opts.mode, opts.voices)
        if outer:
            gen.report["voices"]["outer_of"] = opts.written_voices
        if written:
            gen.report["instruments"]["written_as"] = list(written)
        if capped:
            gen.report["instruments"]["players_sound"] = capped
        if shared:
            gen.report["instruments"]["shared_by_register"] = True  # the model had left one silent
        if doubled:
            gen.report["instruments"]["doubling"] = doubled
        if DRUMS in (opts.controls.instruments or ()) and not gen.report["instruments"]["pass"]:
            pieces = pieces_per_program(self.tokenizer.controls.instrumentation)
            gen.report["instruments"]["drum_pieces_in_training"] = pieces.get(DRUMS, 0)
        for name, why in (chosen or {}).items():
            gen.report[name]["chosen"] = why
        return gen

    @staticmethod
    def _voiced(score: symusic.Score, pitched: tuple[int, ...], opts: GenerationOptions,
                prompt_bars: int) -> tuple[symusic.Score, int | None, list[int]]:
        """The new music of `score` (after a MIDI prompt's `prompt_bars`, whose opening is the user's and kept as
        it is) voiced by register for the `pitched` instruments asked, with no more notes at once than their
        players can sound; also that cap where it dropped notes, and the instruments left only doubling."""
        new = from_bar(score, prompt_bars)
        cap = playable_voices(pitched)
        capped = cap if cap and opts.voices is None and cap < max(voices_heard(new), default=0) else None
        if capped:  # a flute gets the top line of a piano piece
            new = keep_outer_voices(new, capped)
        new = voice_by_register(new, pitched, double=opts.voices is None)  # N voices asked stay N
        if not prompt_bars:
            return new, capped, doubling_parts(new)
        out = score.copy()
        out.tracks = symusic.core.TrackTickList()
        for track in [*score.clip(0, bar_start_tick(score, prompt_bars), clip_end=False).tracks, *new.tracks]:
            out.tracks.append(track.copy())
        return out, capped, doubling_parts(new)

    def _into_key(self, gen: Generation, n_prompt: int) -> Generation | None:
        """The piece moved by the few semitones that bring its measured tonic onto the asked one
        (same mode only; never with a MIDI prompt, whose key is the user's)."""
        measured = gen.report["key"]["measured"]
        asked = gen.report["key"]["requested"]
        if not measured or gen.options.prompt_midi:
            return None
        (pc_m, mode_m), (pc_a, mode_a) = ops.parse_key(measured), ops.parse_key(asked)
        if mode_m != mode_a:
            return None
        shift = (pc_a - pc_m + 6) % 12 - 6  # -6 .. +5 semitones
        tok = self.tokenizer
        lo, hi = tok.pitch_id_range
        ids = np.asarray(gen.ids, dtype=np.int64)
        music = ids[n_prompt:]
        if shift not in ops.allowed_shifts(music, lo, hi, 6):
            return None
        moved = np.concatenate([ids[:n_prompt], ops.shift_tokens_in_range(music, lo, hi, shift)]).tolist()
        chosen = {n: r["chosen"] for n, r in gen.report.items() if isinstance(r, dict) and "chosen" in r}
        written = tuple(gen.report.get("instruments", {}).get("written_as", ())) or None
        out = self._finish(moved, n_prompt, gen.options, 0, chosen, written)
        out.candidates = gen.candidates
        out.report["key"]["tried"] = gen.report["key"].get("tried", [measured])
        out.report["key"]["transposed_by"] = shift
        out.report["key"]["measured_before"] = measured
        return out

    def _continue(self, prompt: list[int], n_controls: int, opts: GenerationOptions, budget: int,
                  sampling: dict, text_embeds: torch.Tensor | None = None, key_bias: float = 0.0,
                  unconditional: list[int] | None = None) -> list[int]:
        """Generate up to `budget` tokens after `prompt` (KV cache on), sliding the context window by
        whole bars when a piece outgrows it; the controls stay at the head of every window.
        `unconditional`: the style-free controls, for guidance towards the style (opts.style_guidance)."""
        tok, max_len = self.tokenizer, self.config.max_len
        controls, music = prompt[:n_controls], list(prompt[n_controls:])
        prompt_bars = sum(1 for i in music if i == tok.bar_id)
        c = opts.controls
        constraints = Constraints(c.meter, c.tempo, c.instruments, opts.bars, hand_span=opts.hand_span,
                                  voices=opts.written_voices)
        generated = 0
        while generated < budget:
            keep = max_len // 2 if len(controls) + len(music) >= max_len else len(music)
            cut, head = max(len(music) - keep, 0), []
            if cut > 0:  # start the window at a bar line, or (inside one long bar) at a Position under its header
                bars_after = [i for i in range(cut, len(music)) if music[i] == tok.bar_id]
                bars_before = [i for i in range(cut) if music[i] == tok.bar_id]
                positions_after = [i for i in range(cut, len(music)) if tok.type_of[music[i]] == "Position"]
                if bars_after:
                    cut = bars_after[0]
                elif bars_before and positions_after:
                    head, cut = music[bars_before[-1]: bars_before[-1] + 2], positions_after[0]  # Bar TimeSig
            window = controls + head + music[cut:]
            dropped_bars = sum(1 for i in music[:cut] if i == tok.bar_id) - (1 if head else 0)
            grammar = RemiGrammar(tok, constraints, music_start=n_controls, bars_before=dropped_bars - prompt_bars)
            if generated == 0 and prompt_bars:
                grammar.bar_first_at = len(window)  # a continuation opens a new bar
            def processors():  # the guidance branch caches its own keys and values: a fresh one per call
                guide = [StyleGuidance(self.model, unconditional + head + music[cut:], len(window),
                                       opts.style_guidance)] if unconditional is not None else []
                return guide + [grammar] + ([KeyBias(tok, c.key, key_bias)] if key_bias and c.key else [])
            room = min(budget - generated, max_len - len(window))
            new = self._decode(window, processors(), room, sampling, text_embeds)
            bad = grammar.first_violation(window, new)
            if bad is not None:  # beam search keeps a masked token when too few are allowed: cut there
                new = new[:bad] or self._decode(window, processors(), 1, dict(do_sample=False, num_beams=1),
                                                text_embeds)
            if tok.eos_id in new:
                music += new[: new.index(tok.eos_id) + 1]
                break
            music += new
            generated += len(new)
            if not new:
                break
        return controls + music


    def _decode(self, window: list[int], processors: list, room: int, sampling: dict,
                text_embeds: torch.Tensor | None) -> list[int]:
        """Up to `room` new tokens after `window` from HF generate (KV cache on)."""
        tok = self.tokenizer
        input_ids = torch.tensor([window], device=self.device)
        with torch.no_grad():
            out = self.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                      max_new_tokens=room, logits_processor=processors, pad_token_id=tok.pad_id,
                                      eos_token_id=tok.eos_id, use_cache=True, **sampling,
                                      **({"text_embeds": text_embeds} if text_embeds is not None else {}))
        return out[0, len(window):].tolist()


def redrawn_checks(report: dict) -> dict[str, bool]:
    """The REDRAWN checks of a report, pass or fail. Not `parts` when an instrument asked never plays: the
    voicing has fewer voices than instruments ("a chorale for orchestra": 4 voices, 11 instruments), which
    drawing again does not change (the instruments check says so, and a melody style is retried in parts)."""
    silent = not report.get("instruments", {}).get("pass", True)
    return {name: report[name]["pass"] for name in REDRAWN if name in report and not (name == "parts" and silent)}


def candidate_score(report: dict) -> tuple[int, int]:
    """How a candidate ranks: the REDRAWN checks it passes, then the ASKED ones among them (a piece in the asked
    key with a part resting beats one with every part playing in another key)."""
    passed = [name for name, ok in redrawn_checks(report).items() if ok]
    return len(passed), sum(name in ASKED for name in passed)


def compose(text: str | None = None, model: Model | str | Path | None = None, *, num_samples: int = 1, seed: int = 0,
            style: str | None = None, bars: int | None = None, seconds: float | None = None, mood: str | None = None,
            voices: int | None = None, **controls) -> tuple["Reading", list[Generation]]:
    """A sentence (and/or controls) -> (what was understood, the generated pieces with their reports).

        reading, [gen] = tunesmith.compose("a slow, sad chorale in D minor for strings, 16 bars")
        reading, [gen] = tunesmith.compose("a jig", key="D major", bars=8)   # keywords win over the words
    """
    from tunesmith.prompt import understand

    model = model if isinstance(model, Model) else load(model)
    tok = model.tokenizer
    reading = understand(text, tok.controls, tok.meters, style=style, bars=bars, seconds=seconds, mood=mood,
                         voices=voices, **controls)
    return reading, model.generate(GenerationOptions.from_reading(reading, num_samples=num_samples, seed=seed))


def save_generation(gen: Generation, out_dir: str | Path, stem: str, audio: bool = True, picture: bool = True,
                    sample_rate: int = 44100, soundfont: str | None = None, prompt: dict | None = None) -> dict[str, Path]:
    """Write <stem>.mid, .wav, .png and .json (prompt reading, options, adherence report); returns the paths."""
    from tunesmith.audio import write_audio
    from tunesmith.pianoroll import save_pianoroll

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"midi": out_dir / f"{stem}.mid"}
    with atomic_path(paths["midi"]) as tmp:
        gen.score.dump_midi(str(tmp))
    symusic.Score(str(paths["midi"]))  # it must read back
    if audio:
        paths["wav"] = write_audio(gen.score, out_dir / f"{stem}.wav", sample_rate=sample_rate, soundfont=soundfont)
    if picture:
        paths["png"] = save_pianoroll(gen.score, out_dir / f"{stem}.png", title=stem)
    paths["json"] = out_dir / f"{stem}.json"
    opts = gen.options
    write_json(paths["json"], {
        **({"prompt": prompt} if prompt else {}),
        "controls": opts.controls.to_dict(),
        "options": {k: v for k, v in opts.__dict__.items() if k != "controls"},
        "new_tokens": gen.new_tokens,
        "seconds": round(gen.seconds, 2),
        "tokens_per_s": round(gen.new_tokens / max(gen.seconds, 1e-9), 1),
        "candidates": gen.candidates,
        "adherence": gen.report,
    })
    return paths


def load(path: str | Path | None = None, device: str | None = None) -> Model:
    """Load a model folder (or a training output folder: its best/ checkpoint); None = the bundled model."""
    folder = model_folder(path)
    cfg = load_model_config(folder)
    tok = Tokenizer.load(folder / "tokenizer")
    if cfg.vocab_size != tok.vocab_size:
        raise BadInputError(folder, f"model vocabulary ({cfg.vocab_size}) does not match its tokenizer ({tok.vocab_size})")
    model = build_model(cfg, tok.pad_id, tok.bos_id, tok.eos_id)
    load_weights(model, folder)
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return Model(model, tok, cfg, folder)


def tokens_per_second(gens: list[Generation]) -> float:
    return float(np.sum([g.new_tokens for g in gens]) / max(1e-9, np.sum([g.seconds for g in gens])))


def export(path: str | Path, out: str | Path, dtype: str = "bf16") -> Path:
    """Copy a model folder (e.g. a training run's best/) with its weights cast to bf16/fp16/fp32: the
    form a model ships in (half the bytes; it loads back as fp32). The folder `out` is replaced as a
    whole, except the documents (`*.md`, e.g. a MODEL_CARD.md) it already holds: they are kept."""
    import shutil

    from tunesmith.fileio import atomic_dir
    from tunesmith.model import save_model_config, save_weights

    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if dtype not in dtypes:
        raise TunesmithError(f"unknown dtype {dtype!r}; choose one of {', '.join(dtypes)}")
    model = load(path, device="cpu")
    out = Path(out)
    documents = sorted(out.glob("*.md")) if out.is_dir() else []
    with atomic_dir(out) as tmp:
        save_weights(model.model, tmp, dtype=dtypes[dtype])
        save_model_config(model.config, tmp)
        model.tokenizer.save(tmp / "tokenizer")
        run = model.folder.parent if model.folder.name == "best" else model.folder
        for kept in (model.folder / "train.json", run / "recipe.json"):  # recipe.json: a staged run's stages
            if kept.is_file():
                shutil.copy(kept, tmp / kept.name)
        for doc in documents:
            shutil.copy(doc, tmp / doc.name)
    return out

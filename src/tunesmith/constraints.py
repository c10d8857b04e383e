"""Constrained decoding: a mask over the REMI grammar at every step.

The grammar of one bar (MidiTok REMI, one token stream for all programs):

    Bar TimeSig (Position [Tempo] (Program Pitch|PitchDrum Velocity Duration)+ )*

Positions rise within a bar and stay below its length. On top of the grammar, the controls a user
asked for are enforced: only the requested TimeSig, only the Tempo token nearest the requested BPM
(and one at the start), only the requested Programs, and exactly the requested number of bars.
On a keyboard, the notes struck together stay within two hands (ops.fits_two_hands); a sung part stays
within a choir's range (ops.SUNG_RANGE). With a number of
voices asked, no more notes than that ever sound together (held notes included, across bar lines).
The state is read back from the sequence itself at each step, so the same processor serves
sampling and beam search (rows may be reordered between steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from transformers import LogitsProcessor

from tunesmith.ops import HAND_SPAN, KEYBOARDS, MAX_VOICES, SUNG, SUNG_RANGE, two_hand_additions
from tunesmith.tokenizer import DRUMS, Tokenizer

POSITIONS_PER_BEAT = 8  # MidiTok positions per time-signature beat (max beat_res), see REMI_PARAMS
LONGEST_NOTE = 12  # beats: the longest Duration token (REMI_PARAMS beat_res), how far back a held note can reach


def bar_positions(meter: str) -> int:
    """Number of Position tokens in one bar of `meter` ('6/8' -> 48)."""
    return int(meter.split("/")[0]) * POSITIONS_PER_BEAT


@dataclass(frozen=True)
class Constraints:
    meter: str | None = None  # the only time signature allowed
    tempo: float | None = None  # BPM; the nearest Tempo token is the only one allowed, and one opens the piece
    programs: tuple[int, ...] | None = None  # the only programs allowed (-1 = drums)
    bars: int | None = None  # exact number of bars to generate (EOS forced after them, not allowed before)
    max_notes_per_position: int = MAX_VOICES  # polyphony cap: no endless chords from a weak or greedy model
    hand_span: int | None = HAND_SPAN  # notes struck together on one keyboard (ops.KEYBOARDS) fit two hands
    #   of five fingers, each reaching this many semitones (ops.fits_two_hands); None = no limit
    voices: int | None = None  # at most this many pitched notes sound together, on all instruments (None = any)
    sung_range: tuple[int, int] | None = SUNG_RANGE  # the pitches a sung part (ops.SUNG) may use; None = any
    unasked_meters_avoided: tuple[str, ...] = ("1/4",)  # never chosen when no meter is asked: in the
    #   training data 1/4 marks beats, not bars (534 of POP909's 909 files), and "16 bars" of it is 4 bars of 4/4


class GrammarState:
    """What the grammar needs to know about one sequence, read from its last bar."""

    __slots__ = ("last_type", "last_program", "position", "meter", "bars", "saw_tempo", "pitches_here", "any_note",
                 "chords", "held_until")

    def __init__(self):
        self.last_type = None
        self.last_program = None
        self.position = -1
        self.meter = None
        self.bars = 0
        self.saw_tempo = False
        self.pitches_here: set[int] = set()  # (Pitch/PitchDrum ids) already sounding at the current position
        self.any_note = False
        self.chords: dict[int, tuple[int, ...]] = {}  # program -> the pitches it strikes at the current position
        # with a number of voices asked: where each pitched note struck so far ends, in 32nds of a quarter from
        # the current bar's start (None = not tracked)
        self.held_until: np.ndarray | None = None


class RemiGrammar(LogitsProcessor):
    """Masks every token that would break REMI's grammar or a requested control."""

    def __init__(self, tok: Tokenizer, constraints: Constraints, music_start: int, bars_before: int = 0):
        # music_start: index where the music (whose bars count) begins; bars_before: bars already
        # generated outside the current window (negative to leave a prompt's bars out of the count)
        self.tok, self.c, self.music_start, self.bars_before = tok, constraints, music_start, bars_before
        self.bar_first_at = -1  # a sequence of exactly this length must continue with a Bar
        v = tok.vocab_size
        self.type_of = tok.type_of
        self.types = {name: torch.tensor([t == name for t in tok.type_of]) for name in set(tok.type_of)}
        self.value = {}
        for i, t in enumerate(tok.type_of):
            if t in ("Position", "Program"):
                self.value[i] = int(tok.value_of(i))
            elif t in ("TimeSig", "Tempo"):
                self.value[i] = tok.value_of(i)
        self.pitch_value = {i: int(tok.value_of(i)) for i, t in enumerate(tok.type_of) if t == "Pitch"}
        self.pitch_ids = torch.tensor(list(self.pitch_value))  # ... and as arrays, for the hands' masks
        self.pitch_values = np.array(list(self.pitch_value.values()))
        self.singable = torch.zeros(v, dtype=torch.bool)  # the Pitch tokens a singer reaches
        if constraints.sung_range:
            low, high = constraints.sung_range
            self.singable[self.pitch_ids[torch.from_numpy((self.pitch_values >= low) & (self.pitch_values <= high))]] = True
        self.program_id = {self.value[i]: i for i, t in enumerate(tok.type_of) if t == "Program"}
        self.beats_of = tok.note_tables[1]  # each Duration id's length in beats of its bar's meter
        self._playable = lru_cache(maxsize=4096)(self._playable_after)
        self.eos = torch.zeros(v, dtype=torch.bool)
        self.eos[tok.eos_id] = True
        self.pad_id = tok.pad_id
        self.position_ids = torch.tensor([i for i, t in enumerate(tok.type_of) if t == "Position"])
        self.position_values = torch.tensor([self.value[int(i)] for i in self.position_ids])
        self._first_beat = torch.zeros(v, dtype=torch.bool)
        self._first_beat[self.position_ids[self.position_values < POSITIONS_PER_BEAT]] = True
        # the controls, as masks over their token type
        if constraints.meter:
            self.timesig_ok = self._only("TimeSig", lambda s: s == constraints.meter)
        else:
            self.timesig_ok = self._only("TimeSig", lambda s: s not in constraints.unasked_meters_avoided)
        self.tempo_ok = self.types["Tempo"]
        if constraints.tempo:
            ids = tok.ids_of_type("Tempo")
            nearest = min(ids, key=lambda i: abs(float(tok.value_of(i)) - constraints.tempo))
            self.tempo_ok = self._only("Tempo", lambda s, n=tok.value_of(nearest): s == n)
        self.program_ok = self.types["Program"]
        if constraints.programs:
            self.program_ok = self._only("Program", lambda s: int(s) in constraints.programs)

    def _only(self, type_name: str, keep) -> torch.Tensor:
        mask = torch.zeros(self.tok.vocab_size, dtype=torch.bool)
        for i in self.tok.ids_of_type(type_name):
            if keep(self.tok.value_of(i)):
                mask[i] = True
        if not mask.any():
            raise ValueError(f"no {type_name} token satisfies the constraint")
        return mask

    def state(self, seq: list[int]) -> GrammarState:
        """Scan the music part of one sequence (backwards to its last Bar, plus a bar count)."""
        st = GrammarState()
        music = seq[self.music_start:]
        st.bars = self.bars_before + sum(1 for i in music if i == self.tok.bar_id)
        if not music:
            return st
        st.last_type = self.type_of[music[-1]]
        pending: tuple[int, ...] = ()  # pitches read (backwards) since the last Program token
        for i in reversed(music):
            t = self.type_of[i]
            if t in ("Pitch", "PitchDrum") and st.position < 0:
                st.pitches_here.add(i)
                pending += (self.pitch_value[i],) if t == "Pitch" else ()
            if t == "Program" and st.position < 0:  # the notes read since belong to this program
                st.chords[self.value[i]] = st.chords.get(self.value[i], ()) + pending
                pending = ()
            if t == "Program" and st.last_program is None:
                st.last_program = self.value[i]
            elif t == "Position" and st.position < 0:
                st.position = self.value[i]
            elif t == "TimeSig" and st.meter is None:
                st.meter = self.value[i]
            elif t == "Bar":
                break
        st.saw_tempo = any(self.type_of[i] == "Tempo" for i in music)
        st.any_note = st.position >= 0 or any(self.type_of[i] == "Position" for i in music)
        if self.c.voices:
            st.held_until = self._held_until(music)
        return st

    def _held_until(self, music: list[int]) -> np.ndarray:
        """Sorted ends of the pitched notes of the last bars (those that can still sound), in 32nds of a
        quarter from the start of the current bar. Positions and durations count in the beats of each
        bar's own meter (its denominator): a 6/8 bar's eighths, a 4/2 bar's halves."""
        ends: list[float] = []
        notes: list[tuple[int, float]] = []  # (position, beats) of the notes of the bar being read
        beats, pending, meter = None, [], "4/4"
        start, current = 0.0, True  # where the bar being read starts, from the current bar's start
        for i in reversed(music):
            t = self.type_of[i]
            if t == "Duration":
                beats = float(self.beats_of[i])
            elif t == "Pitch" and beats is not None:  # (the note being written has no duration yet)
                pending.append(beats)
                beats = None
            elif t == "PitchDrum":  # drums are not voices
                beats = None
            elif t == "Position":
                notes += [(self.value[i], b) for b in pending]
                pending = []
            elif t == "TimeSig":
                meter = self.value[i]
            elif t == "Bar":  # the bar read began here; its meter (just read) gives its length
                num, den = (int(x) for x in meter.split("/"))
                unit = 128 / den  # 32nds of a quarter in one beat of this bar's meter
                start -= 0.0 if current else num * unit
                ends += [start + (pos / POSITIONS_PER_BEAT + b) * unit for pos, b in notes]
                if start < -LONGEST_NOTE * 128:  # a note struck before this bar has ended (12 whole notes at most)
                    break
                notes, current = [], False
        return np.sort(np.array(ends, dtype=float))

    def allowed(self, seq: list[int], st: GrammarState | None = None) -> torch.Tensor:
        """Boolean mask of the tokens allowed next after `seq` (whose state, when already read, is `st`)."""
        st, c, T = st or self.state(seq), self.c, self.types
        if len(seq) == self.bar_first_at:
            return self._bar_or_end(st)
        if st.last_type in ("EOS", "PAD"):
            return self.eos.clone()
        if st.last_type is None:  # right after the controls: the piece opens with a bar
            return T["Bar"].clone()
        if st.last_type == "Bar":
            return self.timesig_ok.clone()
        if st.last_type == "TimeSig":
            mask = T["Position"].clone()
            last_bar = self._in_last_bar(st)
            if st.any_note and not last_bar:  # empty bars may follow music; the first and last bars hold notes
                mask |= self._bar_or_end(st)
            if last_bar:  # the last bar opens on its first beat: a model that wanted to stop cannot put off
                mask &= self._first_beat  # its last notes to the bar's final position and pile them up there
            mask &= ~self._positions_beyond(st)
            if self.c.voices:  # (a bar whose every position is held keeps them: the report's check tells)
                held = mask & ~self._voices_held(st)
                mask = held if held.any() else mask
            return mask
        if st.last_type == "Position":
            if c.tempo and not st.saw_tempo:
                return self.tempo_ok.clone()  # the requested tempo opens the piece
            mask = self.program_ok.clone()
            if not st.saw_tempo or not c.tempo:
                mask |= self.tempo_ok
            return mask
        if st.last_type == "Tempo":
            return self.program_ok.clone()
        if st.last_type == "Program":
            mask = (T["PitchDrum"] if st.last_program == DRUMS else T["Pitch"]).clone()
            mask[list(st.pitches_here)] = False  # no doubled note at one position
            if self._hands(st.last_program):
                mask &= self._playable(tuple(sorted(st.chords.get(st.last_program, ()))))
            if self.c.sung_range and st.last_program in SUNG:
                mask &= self.singable
            return mask
        if st.last_type in ("Pitch", "PitchDrum"):
            return T["Velocity"].clone()
        if st.last_type == "Velocity":
            return T["Duration"].clone()
        if st.last_type == "Duration":
            if self._in_last_bar(st) and st.meter and st.position >= bar_positions(st.meter) - 1:
                return self.eos.clone()  # the piece's very last position: end rather than stack a cluster there
            mask = (T["Position"] & ~self._voices_held(st) if self.c.voices else T["Position"]) | self._bar_or_end(st)
            if len(st.pitches_here) < self.c.max_notes_per_position and not self._voices_full(st):
                mask |= self.program_ok
                for program, chord in st.chords.items():  # a keyboard whose two hands are full strikes no more
                    if self._hands(program) and not self._playable(tuple(sorted(chord))).any():
                        mask[self.program_id[program]] = False
            mask &= ~self._positions_beyond(st)
            return mask if mask.any() else self._bar_or_end(st)
        return T["Bar"].clone()  # anything else (a control token in a prompt): start a bar

    def _hands(self, program: int | None) -> bool:
        return self.c.hand_span is not None and program in KEYBOARDS

    def _playable_after(self, chord: tuple[int, ...]) -> torch.Tensor:
        """The Pitch tokens a keyboard can add to `chord` (pitches struck together) and still be played."""
        mask = torch.zeros(self.tok.vocab_size, dtype=torch.bool)
        mask[self.pitch_ids] = torch.from_numpy(two_hand_additions(chord, self.pitch_values, self.c.hand_span))
        return mask

    def _sounding(self, st: GrammarState, positions) -> np.ndarray:
        """How many of the notes struck so far still sound at each of `positions` of the current bar (all of
        them struck at or before it); zeros when no number of voices is asked."""
        if st.held_until is None or not st.meter:
            return np.zeros(len(positions), dtype=int)
        ticks = np.asarray(positions, dtype=float) * (128 / int(st.meter.split("/")[1])) / POSITIONS_PER_BEAT
        return len(st.held_until) - np.searchsorted(st.held_until, ticks, side="right")

    def _voices_full(self, st: GrammarState) -> bool:
        """Whether the asked number of voices already sound at the current position: no more notes there."""
        return bool(self.c.voices) and self._sounding(st, [st.position])[0] >= self.c.voices

    def _voices_held(self, st: GrammarState) -> torch.Tensor:
        """The Position tokens at which the asked number of voices would still be sounding: nothing can start there."""
        held = torch.zeros(self.tok.vocab_size, dtype=torch.bool)
        if len(st.held_until):
            full = self._sounding(st, self.position_values.numpy()) >= self.c.voices
            held[self.position_ids[torch.from_numpy(full)]] = True
        return held

    def _bar_or_end(self, st: GrammarState) -> torch.Tensor:
        """A new bar, or the end: with a bar budget, EOS exactly when it is spent."""
        if self.c.bars is None:
            return self.types["Bar"] | self.eos
        return self.eos.clone() if self._in_last_bar(st) else self.types["Bar"].clone()

    def _in_last_bar(self, st: GrammarState) -> bool:
        """Whether the bar budget is spent: the music is in the last requested bar."""
        return self.c.bars is not None and st.bars >= self.c.bars

    def _positions_beyond(self, st: GrammarState) -> torch.Tensor:
        """Position tokens not after the current one, or past the bar's end."""
        bad = torch.zeros(self.tok.vocab_size, dtype=torch.bool)
        n = bar_positions(st.meter) if st.meter else 10**6
        out = (self.position_values <= st.position) | (self.position_values >= n)
        bad[self.position_ids[out]] = True
        return bad

    def first_violation(self, prefix: list[int], new: list[int]) -> int | None:
        """Index of the first token of `new` the grammar would not have allowed after `prefix` (+ new[:i])."""
        seq = list(prefix)
        for i, token in enumerate(new):
            if not self.allowed(seq)[token]:
                return i
            seq.append(token)
        return None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = input_ids.tolist()
        states = [self.state(seq) for seq in rows]
        mask = torch.stack([self.allowed(seq, st) for seq, st in zip(rows, states)]).to(scores.device)
        last = [r for r, st in enumerate(states) if self._in_last_bar(st)]
        if last:  # in the last bar, "go on to the next bar" means "end": Bar's mass goes to EOS
            eos, bar = self.tok.eos_id, self.tok.bar_id
            scores = scores.clone()
            scores[last, eos] = torch.logaddexp(scores[last, eos], scores[last, bar])
        width = min(scores.size(-1), mask.size(-1))
        out = torch.full_like(scores, float("-inf"))
        out[:, :width] = torch.where(mask[:, :width], scores[:, :width], torch.full_like(scores[:, :width], float("-inf")))
        return out


# ---- key steering ---------------------------------------------------------------------------------
# Logit offsets by degree (semitones above the tonic) for the asked mode: the tonic and the mode's own
# third favoured, the other mode's third made rarer, every other note left alone. It steers the tonic and
# the mode, which is what the model misses (a piece asked in C# minor comes out in Db major), and leaves
# the chromatic notes to the model: pulling towards the whole scale (notes outside it 4.5 times rarer)
# left pieces with no accidental at all (MODEL_CARD, "Control adherence"). Soft: any note can be written.
_KEY_PROFILE = {"major": {0: 1.0, 4: 0.6, 3: -1.5}, "minor": {0: 1.0, 3: 0.6, 4: -1.5}}


def key_bias_vector(tok: Tokenizer, key: str, strength: float) -> torch.Tensor:
    """(vocab,) logit offsets for the Pitch tokens of `key` (zeros elsewhere, drums untouched)."""
    from tunesmith import ops

    tonic, mode = ops.parse_key(key)
    bias = torch.zeros(tok.vocab_size)
    for i in tok.ids_of_type("Pitch"):
        degree = (int(tok.value_of(i)) - tonic) % 12
        bias[i] = strength * _KEY_PROFILE[mode].get(degree, 0.0)
    return bias


class KeyBias(LogitsProcessor):
    """Steers pitch choices towards an asked key (added to the logits; the grammar's mask still rules)."""

    def __init__(self, tok: Tokenizer, key: str, strength: float):
        self.bias = key_bias_vector(tok, key, strength)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return scores + self.bias.to(scores.device, scores.dtype)

"""General MIDI instruments: names <-> program numbers (-1 = drums), their registers, ranges and how many notes a
player sounds, which ones a model learned, and voicing a texture for the instruments asked (by register, doubling
a thin texture, each part in its instrument's range)."""

from __future__ import annotations

import difflib
import itertools
import re

import numpy as np
import symusic
from pretty_midi.constants import INSTRUMENT_MAP

from tunesmith.errors import TunesmithError
from tunesmith.tokenizer import style_tally

DRUMS = -1
PIANO = 0
CHOIR = 52  # GM "Choir Aahs": the sung parts of chorales and polyphony
SOLO_VOICE = 53  # GM "Voice Oohs": one singer ("a song for soprano and piano"), who sings the top line
TIMPANI = 47  # drums tuned to the tonic and the dominant: beside other instruments, no line of its own

# Everyday names a musician types, beside the 128 official GM names.
COMMON_NAMES: dict[str, int] = {
    "piano": 0, "grand piano": 0, "harpsichord": 6, "celesta": 8, "vibraphone": 11, "marimba": 12,
    "organ": 19, "church organ": 19, "accordion": 21, "harmonica": 22,
    "guitar": 24, "nylon guitar": 24, "acoustic guitar": 25, "electric guitar": 27,
    "bass": 32, "electric bass": 33, "double bass": 43,
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "harp": 46, "timpani": 47,
    "strings": 48, "string ensemble": 48, "choir": 52, "voice": 52, "voices": 52, "vocals": 52,
    "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60, "french horn": 60, "brass": 61,
    "saxophone": 65, "sax": 65, "oboe": 68, "english horn": 69, "bassoon": 70, "clarinet": 71,
    "piccolo": 72, "flute": 73, "recorder": 74, "pan flute": 75, "bagpipe": 109, "fiddle": 110,
    "drums": DRUMS, "drum kit": DRUMS, "percussion": DRUMS,
    # plurals ("a duet for two violins", "a quartet for saxophones"), and a singer
    "pianos": 0, "guitars": 24, "violins": 40, "violas": 41, "cellos": 42, "celli": 42, "double basses": 43,
    "harps": 46, "trumpets": 56, "trombones": 57, "tubas": 58, "horns": 60, "french horns": 60, "saxophones": 65,
    "saxes": 65, "oboes": 68, "bassoons": 70, "clarinets": 71, "flutes": 73, "recorders": 74, "fiddles": 110,
    "soprano": SOLO_VOICE, "mezzo-soprano": SOLO_VOICE, "singer": SOLO_VOICE, "vocalist": SOLO_VOICE, "singers": 52,
    # ... which also name the sizes of other instruments ("alto saxophone" is not an alto and a saxophone)
    "soprano saxophone": 64, "alto saxophone": 65, "tenor saxophone": 66, "baritone saxophone": 67,
    "bass clarinet": 71, "bass trombone": 57, "tenor trombone": 57, "alto flute": 73, "bass flute": 73,
    "alto horn": 60, "tenor horn": 60, "baritone horn": 58, "bass drum": DRUMS, "snare drum": DRUMS,
    "soprano recorder": 74, "alto recorder": 74, "tenor recorder": 74, "bass recorder": 74,
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


NAME_TO_PROGRAM: dict[str, int] = {_norm(n): i for i, n in enumerate(INSTRUMENT_MAP)}
NAME_TO_PROGRAM.update({_norm(n): p for n, p in COMMON_NAMES.items()})


def program_name(program: int) -> str:
    return "Drums" if program == DRUMS else INSTRUMENT_MAP[program]


def parse_instrument(text: str) -> int:
    """'violin', 'Acoustic Grand Piano', '41', 'drums' -> GM program (0-127, -1 for drums)."""
    key = _norm(text)
    if re.fullmatch(r"-?\d+", key.replace(" ", "")) or text.strip().lstrip("-").isdigit():
        p = int(text.strip())
        if p == DRUMS or 0 <= p <= 127:
            return p
        raise TunesmithError(f"instrument number {p} is outside General MIDI (0-127, or -1 for drums)")
    if key in NAME_TO_PROGRAM:
        return NAME_TO_PROGRAM[key]
    near = difflib.get_close_matches(key, list(NAME_TO_PROGRAM), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise TunesmithError(f"unknown instrument {text!r} (not a General MIDI name or number){hint}")


def parse_instruments(text: str) -> tuple[int, ...]:
    """'piano,violin' -> (0, 40)."""
    return tuple(sorted({parse_instrument(part) for part in text.split(",") if part.strip()}))


# Typical middle pitch (MIDI) of the instruments whose register differs from their GM family's, and of
# each family of 8 programs: used only to order several instruments from high to low.
REGISTER: dict[int, int] = {
    40: 76, 41: 62, 42: 50, 43: 38, 47: 45,  # violin, viola, cello, contrabass, timpani
    56: 70, 57: 52, 58: 40, 59: 70, 60: 58,  # trumpet, trombone, tuba, muted trumpet, horn
    64: 72, 65: 66, 66: 58, 67: 50, 68: 74, 69: 64, 70: 48, 71: 64,  # saxophones, oboe, cor anglais, bassoon, clarinet
    72: 86, 73: 76, 74: 74, 110: 74,  # piccolo, flute, recorder, fiddle
    SOLO_VOICE: 70,  # a soprano
}
FAMILY_REGISTER = [60, 72, 60, 55, 36, 60, 60, 60, 66, 74, 62, 60, 60, 60, 62, 60]  # programs 0-7, 8-15, ...
# Practical range (lowest, highest MIDI pitch) of the common instruments, as orchestration books give them
# (sounding pitch); any other program takes its register +- 18 semitones.
RANGE: dict[int, tuple[int, int]] = {
    0: (21, 108), 6: (29, 89), 8: (60, 108), 11: (53, 89), 12: (45, 96), 19: (24, 96), 21: (41, 89), 22: (60, 96),
    24: (40, 86), 25: (40, 86), 32: (28, 67), 33: (28, 67), 46: (24, 103), 48: (28, 96), 52: (40, 81), 53: (60, 81),
    40: (55, 100), 41: (48, 88), 42: (36, 76), 43: (28, 67), 47: (38, 57),  # strings, timpani
    56: (54, 82), 57: (40, 72), 58: (28, 58), 60: (41, 77), 61: (40, 82),  # trumpet, trombone, tuba, horn, brass
    64: (56, 87), 65: (49, 81), 66: (44, 76), 67: (36, 69),  # soprano, alto, tenor, baritone saxophones
    68: (58, 91), 69: (52, 81), 70: (34, 72), 71: (50, 89), 72: (74, 102), 73: (60, 96), 74: (72, 98),
    109: (67, 81), 110: (55, 100),  # bagpipe, fiddle
}


STYLE_SHARE = 0.05  # of a style's training pieces an instrument must play in to be part of the style


def register(program: int) -> int:
    """Typical middle pitch of a GM program (drums: 0)."""
    return 0 if program == DRUMS else REGISTER.get(program, FAMILY_REGISTER[program // 8])


def style_instrumentation(controls, instrumentation: dict) -> dict[str, int] | None:
    """What the asked style's training pieces were played on ({"0,52": pieces, ...}): the composer's
    pieces, else the collection's, else the genre's; None when the style is not asked or not tallied.
    `instrumentation` is tokenizer.ControlVocab.instrumentation."""
    found = style_tally(instrumentation, controls)
    return found[2] if found else None


def usual_instruments(controls, instrumentation: dict) -> tuple[int, ...] | None:
    """The instrumentation most of the asked style's training pieces have, e.g. (0,) for pop909."""
    played = style_instrumentation(controls, instrumentation)
    return tuple(int(p) for p in max(played, key=played.get).split(",")) if played else None


def program_tally(tallies) -> dict[int, int]:
    """{program: pieces it plays in} from instrumentation tallies ({"0,52": pieces, ...})."""
    pieces: dict[int, int] = {}
    for tally in tallies:
        for key, n in tally.items():
            for p in key.split(","):
                pieces[int(p)] = pieces.get(int(p), 0) + n
    return pieces


def native_voicing(controls, instrumentation: dict) -> tuple[int, ...] | None:
    """The single instrument a style was written for in training, when the instruments asked were never
    part of that style there; None when the ask is in the style's own range (or unknown).

    Example: the Irish tunes of the corpus are melodies with no instrument, read as piano (program 0);
    asked "for fiddle", the model writes the tune as the piano melody it learned and the output is
    voiced for the fiddle, instead of conditioning on a pairing it never saw. Asked a chorale "for
    strings" (violin, viola, cello), it writes the choir chorale it learned and `voice_by_register`
    shares its notes among the strings. The style is read from the composer, else the collection, else
    the genre. `controls` is a tokenizer.Controls; `instrumentation` is ControlVocab.instrumentation.
    """
    asked = controls.instruments
    played = style_instrumentation(controls, instrumentation)
    if not asked or DRUMS in asked or not played:
        return None
    pieces = program_tally([played])
    # an instrument is part of the style when it plays in a share of its pieces, not in one odd one
    programs = {p for p, n in pieces.items() if n >= max(2, STYLE_SHARE * sum(played.values()))}
    usual = max(played, key=played.get)
    if programs & set(asked) or "," in usual:
        return None
    return (int(usual),)


MIN_PIECES = 20  # training pieces an instrument must play in for the model to write for it directly


def pieces_per_program(instrumentation: dict) -> dict[int, int]:
    """{program: training pieces it plays in}, over every collection (ControlVocab.instrumentation)."""
    return program_tally(instrumentation.get("collection", {}).values())


def unlearned(programs, instrumentation: dict) -> tuple[int, ...]:
    """The pitched instruments of `programs` that the model's training pieces seldom played (fewer than
    MIN_PIECES, and not the one they played most): writing for them directly conditions on a token it barely
    saw ("a piece for church organ", 1 training piece: notes scattered over six octaves). Empty for a model
    saved without the table."""
    pieces = pieces_per_program(instrumentation)
    best = most_played(instrumentation)
    return tuple(p for p in programs or () if p not in (DRUMS, best) and pieces and pieces.get(p, 0) < MIN_PIECES)


def most_played(instrumentation: dict) -> int:
    """The single instrument the model's training pieces played most (the piano, for the bundled model)."""
    pieces = pieces_per_program(instrumentation)
    pieces.pop(DRUMS, None)
    return max(pieces, key=pieces.get) if pieces else PIANO


# How many notes a player sounds at once: one on a wind, brass or lead instrument, two on a bowed string
# (a double stop), six on a guitar; any number on keyboards, harps, percussion, ensembles and choirs.
def polyphony(program: int) -> int | None:
    """The most notes one player of a GM program sounds together (None: no limit worth keeping)."""
    if program in (40, 41, 42, 43, 110) or 44 <= program <= 45:  # violin ... contrabass, fiddle; tremolo, pizzicato
        return 2
    if 24 <= program <= 31:  # guitars
        return 6
    if 32 <= program <= 39 or 56 <= program <= 60 or 64 <= program <= 87 or program in (SOLO_VOICE, 109, 111):
        return 1  # basses, solo brass, reeds, pipes, synth leads, a singer, bagpipe, shanai
    return None


def playable_voices(programs) -> int | None:
    """The most notes the pitched instruments `programs` sound together, one player each (None: unlimited)."""
    limits = [polyphony(p) for p in programs if p != DRUMS]
    return None if not limits or None in limits else sum(limits)


def playable(program: int) -> tuple[int, int]:
    """The lowest and highest pitch a part for a GM program should take (its practical range)."""
    return RANGE.get(program, (register(program) - 18, register(program) + 18))


def into_range(pitch: np.ndarray, program: int) -> np.ndarray:
    """Pitches moved by whole octaves, the fewest that bring each into the program's playable range:
    the tuba's copy of a melody at C5 sounds at C3 (a range narrower than an octave is left alone)."""
    low, high = playable(program)
    if high - low < 11:
        return pitch
    pitch = np.asarray(pitch, dtype=int)
    up = np.maximum(-((pitch - low) // 12), 0)  # octaves up that clear the floor
    down = np.maximum(-((high - pitch) // 12), 0)  # octaves down that clear the ceiling
    return pitch + 12 * up - 12 * down


def rank_parts(m: int, caps: list[int | None]) -> list[int]:
    """For m notes sounding together (ranked 0 = highest) and instruments high to low that sound at most `caps`
    notes at once (None: any number; instruments.polyphony), the instrument of each rank: by rank, the lowest
    note to the lowest instrument, then an instrument with more notes than it can sound keeps its highest and
    passes the rest to the one below (the lowest keeps its lowest and passes the rest to the nearest above with
    room). A flute and a piano on a four-note chord: the top note on the flute, the other three on the piano."""
    n = len(caps)
    room = [c if c else m for c in caps]
    part = [n - 1 if m > 1 and r == m - 1 else min(n - 1, r * n // m) for r in range(m)]
    for k in range(n - 1):  # top down: keep the highest notes, pass the rest below
        for r in [r for r in range(m) if part[r] == k][room[k]:]:
            part[r] = k + 1
    lowest = [r for r in range(m) if part[r] == n - 1]
    for r in reversed(lowest[: max(len(lowest) - room[n - 1], 0)]):  # bottom up: the lowest instrument's excess
        free = [k for k in range(n - 2, -1, -1) if part.count(k) < room[k]]
        if free:
            part[r] = free[0]
    return part


def doubling_roles(voices: list[float], registers: list[int]) -> list[list[tuple[int, int]]]:
    """How n instruments (their registers, high to low) play m < n voices (each voice's typical pitch, high to
    low): for each voice, the (instrument, octaves moved) that play it. The instruments are shared out in their
    order, as evenly as they go (n // m or n // m + 1 to a voice: a melody is not left to one instrument while
    three double the bass), the larger shares going where that brings the instruments nearest their voices'
    registers. In each share the instrument nearest the voice plays it at pitch, and the others in the whole
    octaves that bring them within an octave of their own register. A melody and its bass for a brass quartet:
    trumpet and horn on the melody, trombone and tuba on the bass; four voices for an orchestra: violin, flute
    and oboe on the soprano, trumpet and clarinet on the alto, viola and horn on the tenor, cello, bassoon and
    the contrabass (an octave down) on the bass."""
    m, n = len(voices), len(registers)
    size, extra = divmod(n, m)

    def starts(larger) -> list[int]:  # where each voice's share begins in the instruments' order (and the end)
        return [0] + list(itertools.accumulate(size + (r in larger) for r in range(m)))

    def distance(larger) -> int:
        bounds = starts(larger)
        return sum(abs(registers[k] - voices[r]) for r in range(m) for k in range(bounds[r], bounds[r + 1]))

    bounds = starts(min(itertools.combinations(range(m), extra), key=distance))  # the first of equals: the higher
    roles: list[list[tuple[int, int]]] = []
    for r in range(m):
        share = range(bounds[r], bounds[r + 1])
        lead = min(share, key=lambda k: (abs(registers[k] - voices[r]), k))
        away = {k: registers[k] - voices[r] for k in share}
        roles.append([(lead, 0)] + [(k, int(np.sign(away[k])) * int(abs(away[k]) // 12)) for k in share if k != lead])
    return roles


def following_roles(roles: list[list[tuple[int, int]]], voices: list[float],
                    other: list[float]) -> list[list[tuple[int, int]]] | None:
    """`roles` (doubling_roles for voices pitched `voices`) carried over to where len(other) voices sound, pitched
    `other`: each voice's players, at their octaves, play the line nearest it, so an instrument keeps to its line
    where the texture thins (a chorale's tenor instruments on the bass where only soprano and bass sound). None
    when a line would have no player."""
    lines: list[list[tuple[int, int]]] = [[] for _ in other]
    for r, players in enumerate(roles):
        lines[min(range(len(other)), key=lambda q: (abs(other[q] - voices[r]), q))] += players
    return lines if all(lines) else None


def voice_by_register(score, programs: tuple[int, ...], double: bool = True):
    """One track per asked program, the notes of `score` shared among them by register: each note goes
    by its rank among the notes sounding at its onset (highest first), and the lowest of several to the
    lowest instrument, so with three instruments and a four-voice texture the top two voices go to the
    highest instrument, the next to the middle one and the bass to the lowest, no instrument getting more
    notes at once than its player can sound where another can take them (`rank_parts`). Where fewer notes sound
    than there are instruments, the instruments are shared out among the voices as evenly as they go, each
    near its register (`doubling_roles`, from each voice's median pitch in the piece), so no part falls silent
    while others play and no voice is left to one instrument while others double; beside other instruments the
    timpani has no line of its own and strikes the bass where it is on the tonic or the dominant of the key
    measured (the whole bass if it never is). Not with `double=False`, which keeps every note once (a texture
    of N voices asked stays N). Each part is then moved by octaves into its instrument's playable range
    (`into_range`). A symusic Score with the same tempos and time signatures (drum tracks kept as they are);
    `score` is in ticks."""
    tuned_drums = double and TIMPANI in programs and any(p not in (TIMPANI, DRUMS) for p in programs)
    order = sorted((p for p in programs if not (tuned_drums and p == TIMPANI)), key=register, reverse=True)
    arrays = [t.notes.numpy() for t in score.tracks if t.note_num() and not t.is_drum]
    out = score.copy()
    out.tracks = symusic.core.TrackTickList()
    for track in score.tracks:
        if track.is_drum:  # drums have no register to share out: kept as they are
            out.tracks.append(track.copy())
    if not arrays:
        return out
    notes = {k: np.concatenate([a[k] for a in arrays]) for k in ("time", "duration", "pitch", "velocity")}
    start, end, pitch = notes["time"], notes["time"] + notes["duration"], notes["pitch"].astype(int)
    n, index = len(order), np.arange(len(start))
    rank, many = np.zeros(len(start), int), np.zeros(len(start), int)  # each note's rank among the m sounding
    for i in range(len(start)):
        sounding = ((start <= start[i]) & (end > start[i])) | (index == i)  # itself too, even if 0 long
        # 0 = the highest note sounding; of a unison, one note goes to each part
        rank[i] = (pitch[sounding] > pitch[i]).sum() + ((pitch[sounding] == pitch[i]) & (index[sounding] < i)).sum()
        many[i] = sounding.sum()
    moved = np.full((n, len(start)), -1)  # moved[k, i]: the pitch instrument k plays note i at (-1: it does not)
    caps = [polyphony(p) for p in order]

    def medians(m: int) -> list[float]:  # each voice's median pitch where m sound (a rank no note starts on at this
        #                                  m: that rank's at any m, else the piece's)
        return [float(np.median(next(p for p in (pitch[(many == m) & (rank == r)], pitch[rank == r], pitch)
                                     if len(p)))) for r in range(m)]

    registers = [register(p) for p in order]
    thin = [int(m) for m in np.unique(many) if m < n] if double else []
    usual = max(thin, key=lambda m: ((many == m).sum(), m)) if thin else 0  # the thin texture most notes start in
    usual_voices = medians(usual) if thin else []
    usual_roles = doubling_roles(usual_voices, registers) if thin else []
    for m in np.unique(many):
        if m >= n or not double:
            parts = rank_parts(int(m), caps)
            for i in index[many == m]:
                moved[parts[rank[i]], i] = pitch[i]
            continue
        # where another number of voices sounds, each instrument keeps to the line nearest its own
        voices = medians(m)
        roles = usual_roles if m == usual else (following_roles(usual_roles, usual_voices, voices)
                                                 or doubling_roles(voices, registers))
        for r, players in enumerate(roles):
            mine = index[(many == m) & (rank == r)]
            for k, octaves in players:
                moved[k, mine] = pitch[mine] + 12 * octaves
    if tuned_drums:  # the timpani strikes the bass (the lowest note sounding at its onset) on the tonic or dominant
        bass = rank == many - 1
        strikes = bass & _on_tonic_or_dominant(score, pitch)
        moved = np.vstack([moved, np.where(strikes if strikes.any() else bass, pitch, -1)])
        order.append(TIMPANI)
    for k, program in enumerate(order):
        mine = index[moved[k] >= 0]
        at = into_range(moved[k, mine], program)
        # a note moved onto one this part already plays at the same onset is played once
        _, first = np.unique(np.stack([start[mine], at]), axis=1, return_index=True)
        keep = np.sort(first)
        track = symusic.Track(name=program_name(program), program=int(program), is_drum=False, ttype="tick")
        track.notes = symusic.Note.from_numpy(time=start[mine][keep], duration=notes["duration"][mine][keep],
                                              pitch=at[keep].astype(np.int8), velocity=notes["velocity"][mine][keep])
        out.tracks.append(track)
    return out


def _on_tonic_or_dominant(score, pitch: np.ndarray) -> np.ndarray:
    """Which of `pitch` are the tonic or the dominant of the key measured in `score` (all, when none is)."""
    from tunesmith import ops
    from tunesmith.adherence import measure_key

    key = measure_key(score)
    if key is None:
        return np.ones(len(pitch), dtype=bool)
    tonic, _ = ops.parse_key(key)
    return np.isin((pitch - tonic) % 12, (0, 7))


def doubling_parts(score) -> list[int]:
    """The programs of the pitched tracks that play no line of their own: each of their notes is played, with the
    same onset, length and pitch class, by one of the other tracks that do (a unison or an octave doubling), as a
    voicing of fewer voices than instruments leaves them. Of two tracks playing the same line, one owns it:
    tracks are judged from the fewest notes up."""
    tracks = [t for t in score.tracks if t.note_num() and not t.is_drum]
    onsets = [{(int(t), int(d), int(p) % 12) for t, d, p in zip(a["time"], a["duration"], a["pitch"])}
              for a in (t.notes.numpy() for t in tracks)]
    own = set(range(len(tracks)))
    for k in sorted(own, key=lambda k: len(onsets[k])):
        if onsets[k] <= set().union(*(onsets[j] for j in own if j != k)):
            own.discard(k)
    return sorted({int(tracks[k].program) for k in range(len(tracks)) if k not in own})


def keep_outer_voices(score, voices: int):
    """The `voices` outer voices of a texture: at each onset the notes sounding (over every pitched track) are
    ranked by pitch, and of more than `voices` only the highest `voices - 1` and the lowest are kept (one
    voice: the highest). A kept note still sounding when a new onset ranks it among the dropped ones ends
    there, so no more than `voices` ever sound together. Tracks, drums, tempos and time signatures are kept;
    `score` is in ticks."""
    out = score.copy()
    pitched = [t for t in out.tracks if t.note_num() and not t.is_drum]
    if not pitched:
        return out
    arrays = [t.notes.numpy() for t in pitched]
    owner = np.concatenate([np.full(len(a["time"]), k) for k, a in enumerate(arrays)])
    notes = {k: np.concatenate([a[k] for a in arrays]) for k in ("time", "duration", "pitch", "velocity")}
    start, pitch = notes["time"], notes["pitch"]
    end = start + notes["duration"]
    kept, new_end = np.zeros(len(start), bool), end.copy()
    index = np.arange(len(start))
    for t in np.unique(start):
        sounding = index[(start <= t) & ((end > t) | (start == t))]
        ranked = sounding[np.lexsort((sounding, -pitch[sounding]))]  # highest first; a unison by order
        m = len(ranked)
        top = ranked[: max(voices - 1, 1)].tolist()
        keep = set(ranked.tolist()) if m <= voices else set(top) | ({int(ranked[-1])} if voices > 1 else set())
        for i in ranked:
            if start[i] == t:
                kept[i] = i in keep
            elif kept[i] and i not in keep and new_end[i] > t:
                new_end[i] = t  # a kept note now inside the texture: it stops where the outer voice moves on
    for k, track in enumerate(pitched):
        mine = kept & (owner == k)
        track.notes = symusic.Note.from_numpy(time=start[mine], duration=new_end[mine] - start[mine],
                                              pitch=pitch[mine], velocity=notes["velocity"][mine])
    return out

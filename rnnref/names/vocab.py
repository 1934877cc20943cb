"""Characters as tokens, with padding, start and end markers.

Ids 0, 1, 2 are ``<pad>``, ``<s>`` (start) and ``</s>`` (end); the characters follow in
sorted (code point) order, so the same character set always gives the same ids. A name
``"Ng"`` is fed to the model as ``<s> N g`` and trained to predict ``N g </s>``.
"""

import numpy as np

PAD, START, END = "<pad>", "<s>", "</s>"
PAD_ID, START_ID, END_ID = 0, 1, 2
SPECIALS = (PAD, START, END)


class Vocab:
    """A character vocabulary. ``chars`` are the ordinary characters (no markers)."""

    def __init__(self, chars):
        chars = sorted(set(chars))
        if any(len(c) != 1 for c in chars):
            raise ValueError("vocabulary entries must be single characters")
        self.chars = chars
        self.tokens = [*SPECIALS, *chars]
        self._index = {c: i for i, c in enumerate(self.tokens)}

    @classmethod
    def from_names(cls, names):
        return cls({ch for name in names for ch in name})

    def __len__(self):
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.tokens == other.tokens

    def __hash__(self):
        return hash(tuple(self.tokens))

    def __repr__(self):
        return f"Vocab({len(self.chars)} characters + {len(SPECIALS)} markers)"

    def __contains__(self, ch):
        return ch in self._index and ch not in SPECIALS

    def id(self, ch):
        if ch not in self:
            raise ValueError(f"character {ch!r} is not in the vocabulary")
        return self._index[ch]

    def encode(self, name):
        """Ids of the characters of ``name`` (no markers); ``ValueError`` naming a bad one."""
        try:
            return [self._index[ch] for ch in name]
        except KeyError as exc:
            raise ValueError(
                f"name {name!r} holds the character {exc.args[0]!r}, not in the vocabulary"
            ) from None

    def decode(self, ids):
        """The string of character ids, stopping at the first end marker, skipping markers."""
        out = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i >= len(SPECIALS):
                out.append(self.tokens[i])
        return "".join(out)

    def to_array(self):
        """The characters as a 1-d unicode array (for a checkpoint)."""
        return np.array(self.chars, dtype="<U1")

    @classmethod
    def from_array(cls, a):
        return cls([str(c) for c in a])

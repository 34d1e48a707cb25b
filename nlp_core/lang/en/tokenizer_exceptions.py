"""English special cases: contractions, informal fusions and abbreviations.

The split points follow the Penn Treebank / UD English conventions: "don't" -> "do" "n't",
"can't" -> "ca" "n't", "I'm" -> "I" "'m", "gonna" -> "gon" "na", "cannot" -> "can" "not".
Clitics the table does not list are still split by the English suffix rules
(`lang/en/punctuation.py`); the table makes the common ones a single lookup and holds the
forms without an apostrophe ("dont", "im"), which no rule could split safely.
"""
from typing import Dict, Iterable, List

from ..xx.tokenizer_exceptions import BASE_EXCEPTIONS

_APOSTROPHES = ("'", "\u2019")

# Verbs that take the negative clitic, as the first token of the split.
_NEGATABLE = ("do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "could",
              "would", "should", "might", "must", "need", "dare", "ought", "ca", "wo", "sha",
              "ai")
# Forms without an apostrophe that are not themselves English words (plus "cant"/"wont",
# whose word readings are rare next to the contraction).
_NEGATED_NO_APOSTROPHE = ("dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent",
                          "hasnt", "havent", "hadnt", "couldnt", "wouldnt", "shouldnt",
                          "mightnt", "mustnt", "neednt", "cant", "wont", "aint")

_PRONOUN_CLITICS = {
    "i": ("m", "ve", "ll", "d"),
    "you": ("re", "ve", "ll", "d"),
    "he": ("s", "ll", "d"),
    "she": ("s", "ll", "d"),
    "it": ("s", "ll", "d"),
    "we": ("re", "ve", "ll", "d"),
    "they": ("re", "ve", "ll", "d"),
    "that": ("s", "ll", "d"),
    "there": ("s", "re", "ll", "d", "ve"),
    "here": ("s",),
    "what": ("s", "re", "ll", "d", "ve"),
    "who": ("s", "re", "ll", "d", "ve"),
    "where": ("s", "d"),
    "how": ("s", "d"),
    "when": ("s",),
    "why": ("s",),
    "let": ("s",),
    "could": ("ve",),
    "would": ("ve",),
    "should": ("ve",),
    "might": ("ve",),
    "must": ("ve",),
}
# Apostrophe-less pronoun contractions that cannot be read as another word.
_PRONOUN_NO_APOSTROPHE = {
    "im": ("i", "m"), "ive": ("i", "ve"), "youre": ("you", "re"), "youve": ("you", "ve"),
    "youll": ("you", "ll"), "theyre": ("they", "re"), "theyve": ("they", "ve"),
    "theyll": ("they", "ll"), "thats": ("that", "s"), "whats": ("what", "s"),
    "theres": ("there", "s"), "heres": ("here", "s"), "shes": ("she", "s"),
    "itll": ("it", "ll"), "elses": ("else", "s"), "hes": ("he", "s"),
    "couldve": ("could", "ve"), "wouldve": ("would", "ve"), "shouldve": ("should", "ve"),
}
_FUSIONS = {
    "cannot": ("can", "not"), "gonna": ("gon", "na"), "wanna": ("wan", "na"),
    "gotta": ("got", "ta"), "outta": ("out", "ta"), "hafta": ("haf", "ta"),
    "dunno": ("du", "n", "no"), "lemme": ("lem", "me"), "gimme": ("gim", "me"),
    "sorta": ("sort", "a"), "alot": ("a", "lot"), "I'ma": ("I", "'m", "a"),
    "c'mon": ("c'm", "on"), "c\u2019mon": ("c\u2019m", "on"),
}

# Abbreviations written with a final full stop that is part of the token.
ABBREVIATIONS = """
Mr. Mrs. Ms. Mx. Dr. Drs. Prof. St. Ste. Jr. Sr. Mt. Ft. Lt. Col. Gen. Gov. Sen. Rep. Reps.
Rev. Sgt. Capt. Cmdr. Adm. Maj. Pres. Hon. Messrs. Mssrs. Insp. Supt. Brig. Cpl. Pvt.
Inc. Ltd. Co. Corp. Bros. Assn. Dept. Univ. Est. Intl. Natl. Mfg. Ave. Blvd. Rd. Hwy.
Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec.
Mon. Tue. Tues. Wed. Thu. Thur. Thurs. Fri. Sat. Sun.
Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. Ga. Ill. Ind. Kan. Kans. Ky. La. Md. Mass.
Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. Okla. Ore. Pa. Penn. Tenn. Tex. Va. Vt. Wash.
Wis. Wisc. Wyo.
vs. etc. approx. appt. apt. dept. est. ext. fig. figs. govt. inc. misc. no. nos. vol.
vols. pp. ca. cf. al. ed. eds. attn. Attn. Arrv. arrv. Ref. ref. Tel. tel. Fax. Ph.D.
lb. lbs. oz. eg. ie. hr. hrs. min. mins. sec. secs. yr. yrs. Spec. Ass't. Assoc. Asst.
No. Nos. Vol. Fig. Figs. Ed. Eds. Ex. Op. Para. Sec. Ch. Pt.
a.m. p.m. e.g. i.e. a.k.a. Jan Feb
""".split()
# Bare "Jan"/"Feb" above are only filler words of the list format; drop them.
ABBREVIATIONS = [a for a in ABBREVIATIONS if a.endswith(".")]
# Lower-case "no." ends many sentences ("I said no."); keep only the title-case reading.
ABBREVIATIONS = [a for a in ABBREVIATIONS if a not in ("no.", "nos.")]

OTHER_SPECIALS = ("Yahoo!", "w/o", "W/O", "w/out", "'s", "'S", "\u2019s", "n't", "N'T", "'em", "'cause", "ol'",
                  "'n'", "o'clock", "ma'am", "y'all", "'90s", "'80s", "'70s", "'60s")


def _cases(surface: str, tokens: Iterable[str]) -> Dict[str, List[str]]:
    """The lower-case, title-case and upper-case forms of a split."""
    tokens = list(tokens)
    out = {surface: tokens}
    title = [tokens[0][:1].upper() + tokens[0][1:], *tokens[1:]]
    out["".join(title)] = title
    upper = [t.upper() for t in tokens]
    out["".join(upper)] = upper
    return out


def _english_exceptions() -> Dict[str, List[str]]:
    exc: Dict[str, List[str]] = {}
    for base in _NEGATABLE:
        for apostrophe in _APOSTROPHES:
            neg = "n" + apostrophe + "t"
            exc.update(_cases(base + neg, (base, neg)))
    for word in _NEGATED_NO_APOSTROPHE:
        exc.update(_cases(word, (word[:-2], "nt")))
    for pronoun, clitics in _PRONOUN_CLITICS.items():
        for clitic in clitics:
            for apostrophe in _APOSTROPHES:
                exc.update(_cases(pronoun + apostrophe + clitic, (pronoun, apostrophe + clitic)))
    # "I" is always upper case: "I'm", not "i'm" as the only lower-case form.
    for clitic in _PRONOUN_CLITICS["i"]:
        for apostrophe in _APOSTROPHES:
            exc["I" + apostrophe + clitic] = ["I", apostrophe + clitic]
    for surface, tokens in _PRONOUN_NO_APOSTROPHE.items():
        exc.update(_cases(surface, tokens))
    # "lets" is mostly the verb; only the capitalised form is reliably "Let's".
    exc["Lets"] = ["Let", "s"]
    exc["LETS"] = ["LET", "S"]
    exc["Im"] = ["I", "m"]
    exc["Ive"] = ["I", "ve"]
    for surface, tokens in _FUSIONS.items():
        exc.update(_cases(surface, tokens))
    for abbreviation in ABBREVIATIONS:
        exc[abbreviation] = [abbreviation]
    for special in OTHER_SPECIALS:
        exc[special] = [special]
    # "w/" alone is "w" "/"; glued to a word it is one token ("w/investors").
    exc["w/"] = ["w", "/"]
    return exc


TOKENIZER_EXCEPTIONS: Dict[str, List[str]] = {**BASE_EXCEPTIONS, **_english_exceptions()}

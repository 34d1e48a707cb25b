"""English norm exceptions: the NORM of contraction pieces, informal spellings, British
spellings and typographic variants, so that models see one form for each."""
from typing import Dict

_CONTRACTION_NORMS = {
    "n't": "not", "nt": "not", "n’t": "not", "'m": "am", "’m": "am", "'re": "are",
    "’re": "are", "'ve": "have", "’ve": "have", "'ll": "will", "’ll": "will", "'d": "'d",
    "’d": "'d", "'s": "'s", "’s": "'s", "ca": "can", "wo": "will", "sha": "shall",
    "ai": "am", "gon": "going", "wan": "want", "na": "to", "ta": "to", "lem": "let",
    "gim": "give", "du": "do", "y'": "you", "y’": "you", "'em": "them", "’em": "them",
    "'cause": "because", "’cause": "because", "cos": "because", "cuz": "because",
    "coz": "because", "u": "you", "ur": "your", "r": "are", "ya": "you", "yall": "you all",
    "pls": "please", "plz": "please", "thx": "thanks", "tho": "though", "thru": "through",
    "ok": "okay", "o.k.": "okay", "alright": "all right",
}

# British / American spelling pairs, normalised to the American form.
_SPELLING_PAIRS = """
colour color colours colors coloured colored favour favor favours favors favourite favorite
favourites favorites honour honor honours honors honoured honored labour labor neighbour
neighbor neighbours neighbors neighbourhood neighborhood behaviour behavior behaviours
behaviors humour humor rumour rumor harbour harbor flavour flavor endeavour endeavor
centre center centres centers theatre theater metre meter metres meters litre liter fibre
fiber organise organize organised organized organising organizing organisation organization
organisations organizations realise realize realised realized realising realizing recognise
recognize recognised recognized apologise apologize apologised apologized analyse analyze
analysed analyzed criticise criticize criticised criticized emphasise emphasize summarise
summarize defence defense offence offense licence license practise practice travelled
traveled travelling traveling cancelled canceled cancelling canceling jewellery jewelry
grey gray programme program programmes programs catalogue catalog dialogue dialog
cheque check tyre tire tyres tires aluminium aluminum mum mom
""".split()

_TYPOGRAPHIC = {
    "’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"', "''": '"', "``": '"',
    "„": '"', "«": '"', "»": '"', "…": "...", "—": "--", "–": "--", "−": "-",
}

NORM_EXCEPTIONS: Dict[str, str] = {
    **_CONTRACTION_NORMS,
    **dict(zip(_SPELLING_PAIRS[::2], _SPELLING_PAIRS[1::2])),
    **_TYPOGRAPHIC,
}

"""Language-independent special cases and whole-token patterns.

`BASE_EXCEPTIONS` maps a string to the tokens it splits into (here each emoticon is one
token). `URL_PATTERN` / `url_match` keep web addresses and file names whole, and
`TOKEN_PATTERN` / `token_match` keep e-mail addresses, phone numbers, numeric dates and
dotted abbreviations ("U.S.", "e.g.") whole; both are tried before any splitting.
"""
import re
from typing import Dict, List

EMOTICONS = (
    ":)", ":-)", ":))", ":-))", ":)))", ":(", ":-(", ":((", ";)", ";-)", ":D", ":-D", ";D",
    ":P", ":-P", ":p", ":-p", ";P", ";p", ":o", ":O", ":-o", ":-O", ":/", ":-/", ":|", ":-|",
    ":'(", ":')", ":-*", ":*", ":]", ":[", ":-]", ":-[", ":3", "(:", "(-:", ")-:", "=)",
    "=(", "=D", "=]", "=[", "=/", "=|", ">:(", ">:)", "<3", "</3", "<33", "<333", "^_^",
    "^^", "^.^", "-_-", "-.-", "o_O", "O_o", "o_o", "O_O", "o.O", "O.o", "xD", "XD", "xP",
    "XP", ";_;", "T_T", "(^_^)", "(>_<)", ">_<", "\\o/", "¯\\_(ツ)_/¯", "(ツ)",
)

BASE_EXCEPTIONS: Dict[str, List[str]] = {e: [e] for e in EMOTICONS}

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|name|pro|aero|coop|museum|mobi|asia|tel|travel|"
    "io|co|ai|app|dev|tv|me|us|uk|ca|au|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|ie|pl|pt|ru|"
    "ua|cz|gr|hu|ro|tr|il|in|cn|jp|kr|tw|hk|sg|my|th|vn|id|ph|pk|za|ng|ke|eg|br|ar|mx|cl|"
    "pe|ve|nz|ly|gl|fm|ws|cc|eu|online|site|xyz|blog|news|shop"
)
_FILE_EXTENSIONS = (
    "html?|php|aspx?|jsp|cgi|pdf|docx?|xlsx?|pptx?|txt|csv|rtf|zip|gz|tgz|rar|exe|jpe?g|png|"
    "gif|bmp|tiff?|svg|mp3|mp4|wav|avi|mov|wmv|mpe?g|xml|json|ya?ml|py|js|css|java|cpp|"
    "exe|dll|msg|vcf|ics"
)
# An address never ends in a sentence mark or in a closing bracket without its opening one
# ("/wiki/Tokenization_(lexical_analysis)" keeps its bracket), so a URL at the end of a
# sentence or in brackets loses the punctuation to the suffix rules first.
_URL_END = r"(?:[\w/#=&%~+-]|\([^\s()]*\))"
URL_PATTERN = (
    r"(?i:"
    # scheme://... or www.... or mailto:
    r"(?:(?:https?|s?ftp|file|git|ssh)://|www\d{0,3}\.|mailto:)\S*" + _URL_END + r"|"
    # bare host name with a known top-level domain, optionally a port and a path
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?::\d+)?(?:/\S*" + _URL_END
    + r"|/)?|"
    # a file name with a known extension: "report_v2.DOC", "em-enro2.doc"
    r"[\w#~-]+(?:\.[\w#~-]+)*\.(?:" + _FILE_EXTENSIONS + r")"
    r")"
)

TOKEN_PATTERN = (
    # e-mail addresses, and @-mentions of users and domains
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w(?:[\w.]*\w)?|"
    # phone numbers and ZIP+4 codes: "713-853-3989", "1-800-991-9019", "713/853-6197",
    # "345-9945", "77042-2016"
    r"(?:1-)?(?:\(?\d{3}\)?[-/.])?\d{3}-\d{4}(?:x\d+)?|\d{5}-\d{4}|"
    # internal extensions: "3-5297"
    r"\d-\d{4}|"
    # lines and arrows drawn with symbols: "-->", "*~*~*~*", "|-------+---->"
    r"[-=*~+_|<>#^]{3,}|"
    # numeric dates with hyphens: "11-20-2000"
    r"\d{1,2}-\d{1,2}-(?:\d{4}|\d{2})|"
    # dotted abbreviations and initialisms: "U.S.", "e.g.", "a.k.a", "p.m."
    r"(?:[^\W\d_]\.){2,}[^\W\d_]?\.?|[^\W\d_]\.[^\W\d_]"
)

url_match = re.compile(URL_PATTERN).fullmatch
token_match = re.compile(TOKEN_PATTERN).fullmatch

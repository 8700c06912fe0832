"""Request phrasing: the words of a query that ask for papers rather than say what about.

People type questions: "I am interested in papers on graph neural networks", "What articles
exist which deal with time sharing?". For BM25 every word is a topic word, and ``articles``,
``papers``, ``interested`` or ``exist`` match abstracts that use them. :func:`strip_request`
removes such phrasing where it frames the query (a request opening, a "papers on" head, a
trailing "please") and leaves every other word alone: "white papers on security" and
"results of the trial" keep all their words.

The patterns are general English request forms, written from how people phrase searches,
not fitted to an evaluation collection.
"""

from __future__ import annotations

import re

__all__ = ["is_request", "strip_request"]

#: Nouns for "documents": a query that opens with one asks for documents about the rest.
_DOCS = (r"(?:articles?|papers?|studies|documents?|publications?|works?|research|literature|"
         r"information|material|preprints?)")
#: What a question about the existence of documents may ask for.
_FOUND = (r"(?:articles?|papers?|studies|study|documents?|publications?|works?|research|"
          r"literature|reports?|results?|information|references?|material|preprints?|"
          r"surveys?|reviews?|evidence|findings|resources?|examples?|data)")
#: Verbs that link documents to their topic ("papers that *discuss* ...").
_VERBS = (r"(?:deal|deals|dealing|discuss|discusses|discussing|address|addresses|describe|"
          r"describes|cover|covers|concern|concerns|investigate|investigates|report|reports|"
          r"examine|examines|show|shows|showing|suggest|suggests|suggesting|focus|focuses|"
          r"talk|talks|exist|exists|explore|explores|look|looks|analyze|analyse|analyzes|"
          r"analyses|use|uses|using|propose|proposes|present|presents|study|studies|"
          r"compare|compares|evaluate|evaluates)")
_LINK = rf"(?:(?:which|that|where|in which)\s+)?{_VERBS}(?:\s+(?:with|about|on|at|into|in))?"
_ABOUT = (rf"(?:on|about|regarding|concerning|covering|related to|relating to|relevant to|"
          rf"in the (?:area|field) of|on the (?:topic|subject) of|{_LINK})")

_OPENINGS = [
    # politeness and requests addressed to the system
    r"(?:please|kindly)",
    r"(?:can|could|would|will) you(?: please)?(?: help me)?"
    r"(?: (?:find|show|give|get|list|recommend|suggest|search for|look for|retrieve|point me to)"
    r"(?: me| us)?)?",
    r"(?:help me|i need to|i want to|i'd like to|i would like to|we want to|we need to)"
    r"(?: (?:find|read|see|know|learn)(?: more)?(?: about)?)?",
    r"(?:find|show|give|get|list|recommend|suggest|search for|look for|retrieve|fetch)"
    r"(?: me| us)?(?: (?:some|any|all|the|recent|relevant|good))*",
    r"(?:looking for|searching for|in search of)",
    # the asker's interest
    r"(?:i am|i'm|we are|we're|i was|my group is|our group is)"
    r" (?:interested in|looking for|searching for|trying to find|curious about|"
    r"researching|studying|working on)",
    r"(?:i|we) (?:want|need|would like|wish|am looking|are looking|seek)"
    r"(?: to (?:find|read|see|know|learn)(?: more)?)?(?: about)?",
    r"(?:any|some) (?:pointers|suggestions|recommendations|leads) (?:to|on|about|for)",
    r"(?:tell me|teach me|explain)(?: more)? about",
    r"what (?:is|are) (?:known|the latest|the state of the art|recent (?:advances|work))"
    r"(?: (?:about|on|in|for|regarding))?",
    # questions about the existence of documents
    r"(?:what|which|are there|is there|do you have|have there been|has there been|"
    r"where can i find|where are|where is)(?: any| some| the| recent| relevant)*"
    rf"(?: {_FOUND})?(?: (?:exist|are there|are available|have been (?:written|published|done)|"
    r"can be found|do you have))?",
]

_OPENING_RE = re.compile(rf"^\s*(?:{'|'.join(_OPENINGS)})\b[\s,:]*", re.IGNORECASE)
#: "papers on", "recent studies about" at the start of what is left.
_HEAD_RE = re.compile(rf"^\s*(?:(?:some|any|all|the|recent|relevant|good|new|latest)\s+)*"
                      rf"{_DOCS}\s+{_ABOUT}\b[\s,:]*", re.IGNORECASE)
#: A linking verb and "that", "whether", "about" ... left in front once an opening is gone.
_LEAD_RE = re.compile(rf"^\s*(?:{_LINK}\s+)?(?:that|whether|if|about|on|regarding|concerning|"
                      r"how|why)?\b\s*", re.IGNORECASE)
_TAIL_RE = re.compile(r"[\s,]*(?:please|thanks?(?: you)?)?[\s?!.]*$", re.IGNORECASE)
#: A question's opening: a question word, or an auxiliary that inverts ("Is there ...",
#: "Has anyone ...", "Can transformers ...").
_QUESTION_RE = re.compile(
    r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|"
    r"could|should|would|will|may|might|has|have|had)\b", re.IGNORECASE)


def is_request(query: str) -> bool:
    """Whether ``query`` is phrased as a question or a request for papers, rather than as
    keywords or a statement: it ends with a question mark, opens as a question, or has
    request phrasing that :func:`strip_request` removes.

    Example::

        >>> is_request("Which publications discuss protein folding?")
        True
        >>> is_request("I am interested in papers on graph neural networks")
        True
        >>> is_request("Aspirin lowers the risk of stroke.")
        False
    """
    if query.rstrip().endswith("?") or _QUESTION_RE.match(query):
        return True
    return strip_request(query) != _TAIL_RE.sub("", query)


def strip_request(query: str) -> str:
    """``query`` without its request phrasing; the query itself when nothing would remain.

    Example::

        >>> strip_request("What articles exist which deal with time sharing?")
        'time sharing'
        >>> strip_request("I am interested in papers on graph neural networks")
        'graph neural networks'
        >>> strip_request("transformers")
        'transformers'
    """
    text = query
    for _ in range(3):  # an opening may leave a head ("find me" + "papers on ...")
        before = text
        text = _OPENING_RE.sub("", text, count=1)
        text = _HEAD_RE.sub("", text, count=1)
        if text != before:
            text = _LEAD_RE.sub("", text, count=1)
        if text == before:
            break
    text = _TAIL_RE.sub("", text)
    return text if text.strip() else query

"""English stop words for the lexical side: function words that carry no topic.

Lucene's list (tantivy's ``stopword("english")``) holds 33 words, so a question such as
"What articles exist which deal with time sharing?" was scored on ``what`` and ``which``
as if they were topic words. :data:`STOPWORDS` adds the rest of English's closed word
classes: pronouns, question words, auxiliaries and modals, determiners and quantifiers,
prepositions, conjunctions, common adverbs, and the pieces a tokenizer makes of
contractions ("don't" becomes ``don`` and ``t``).

Content words stay, even frequent ones ("study", "results", "method"): BM25's idf already
discounts them, and in a paper search they can be what a query is about. Request words
("articles", "papers", "find") are not stop words either; :mod:`papersift.phrasing` removes
them where they form request phrasing, and only there.
"""

from __future__ import annotations

__all__ = ["LUCENE", "STOPWORDS"]


def _words(text: str) -> list[str]:
    return text.split()


#: Lucene's English stop words (what tantivy's ``stopword("english")`` removes).
LUCENE = frozenset(_words("""
a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with
"""))

_PRONOUNS = """
i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves one ones
"""
_QUESTION_WORDS = "what which who whom whose when where why how whether whatever whichever"
_AUXILIARIES = """
am is are was were be been being have has had having do does did doing done can could shall
should will would may might must ought
"""
_DETERMINERS = """
a an the this that these those some any each every either neither all both few many much more
most other others another such own same several no nor not only very
"""
_PREPOSITIONS = """
of at by for with about against between into through during before after above below to from
up down in out on off over under again further than across along among amongst around upon
within without via per toward towards onto unto beyond beside besides despite throughout
"""
_CONJUNCTIONS = """
and but or if then else so because as until while although though unless since whereas
whereby wherein whereupon thereby therein thus hence yet
"""
_ADVERBS = """
here there also just too still even ever never once always often sometimes already now
rather quite perhaps however moreover furthermore therefore otherwise indeed
"""
#: What a tokenizer that splits on apostrophes leaves of contractions.
_CONTRACTION_PIECES = """
s t d ll m re ve don didn doesn isn aren wasn weren hasn haven hadn won wouldn couldn shouldn
mustn
"""

#: The fuller English stop list (lower case, unaccented; includes :data:`LUCENE`).
STOPWORDS = frozenset(
    word
    for group in (_PRONOUNS, _QUESTION_WORDS, _AUXILIARIES, _DETERMINERS, _PREPOSITIONS,
                  _CONJUNCTIONS, _ADVERBS, _CONTRACTION_PIECES)
    for word in _words(group)
) | LUCENE

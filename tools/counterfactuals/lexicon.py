"""Small curated word lists for edits: antonyms (counterfactuals), synonyms (adversarial swaps
and label-preserving paraphrases), negation handling and neutral phrases. No download: WordNet
is not available offline, and these cover the review domain the demo data comes from; the
model's own next-word proposals cover the rest."""
from __future__ import annotations

_ANTONYM_PAIRS = """good bad, great terrible, excellent awful, love hate, loved hated, like dislike, liked disliked,
best worst, better worse, happy unhappy, perfect flawed, amazing awful, wonderful horrible, fantastic dreadful,
beautiful ugly, nice nasty, pleasant unpleasant, friendly rude, helpful unhelpful, fast slow, quick slow,
cheap expensive, clean dirty, fresh stale, hot cold, warm cold, comfortable uncomfortable, easy hard, easy difficult,
reliable unreliable, recommend avoid, recommended avoided, works fails, worked failed, working broken, sturdy flimsy,
quiet loud, tasty bland, delicious disgusting, fun boring, interesting boring, enjoyable tedious, impressive \
disappointing,
impressed disappointed, satisfied dissatisfied, pleased annoyed, success failure, strong weak, smooth rough,
gorgeous hideous, generous stingy, polite rude, accurate inaccurate, correct wrong, right wrong, well badly,
always never, worth worthless, positive negative, superb poor, solid shoddy, lovely awful, brilliant dull,
awesome awful, enjoyed hated, calm chaotic, safe dangerous, clear confusing, bright dim, useful useless,
long short, high low, more less, yes no, win lose, glad sorry, favourite least, favorite least"""
ANTONYMS: dict[str, list[str]] = {}
for pair in _ANTONYM_PAIRS.replace("\n", " ").split(","):
    a, b = pair.split()
    ANTONYMS.setdefault(a, []).append(b)
    ANTONYMS.setdefault(b, []).append(a)

_SYNONYM_SETS = """good fine decent solid|great excellent superb terrific|bad poor lousy|terrible awful \
dreadful horrible|
love adore enjoy|hate detest loathe|fast quick speedy|slow sluggish|cheap inexpensive affordable|expensive \
pricey costly|
clean spotless tidy|dirty filthy grimy|big large huge|small little tiny|nice pleasant lovely|rude impolite \
discourteous|
friendly warm welcoming|food meal dishes|staff employees team|room space|movie film|book novel|phone handset|
broke failed stopped|works functions runs|buy purchase|bought purchased|said stated|very really quite|
tasty delicious flavourful|boring dull tedious|funny hilarious amusing|beautiful gorgeous stunning|ugly unattractive|
happy glad pleased|sad unhappy|help assist|helpful useful|product item|price cost|order purchase|quickly fast rapidly|
arrived came|waited queued|place venue spot|service support|recommend suggest|disappointed let-down|amazing \
astonishing incredible"""
SYNONYMS: dict[str, list[str]] = {}
for group in _SYNONYM_SETS.replace("\n", "").split("|"):
    words = [w.replace("-", " ") for w in group.split()]
    for w in words:
        SYNONYMS.setdefault(w, []).extend(x for x in words if x != w and x not in SYNONYMS.get(w, []))

NEGATORS = {"not", "never", "no", "n't"}
AUXILIARIES = {"is", "was", "are", "were", "do", "does", "did", "will", "would", "could",
               "can", "should", "has", "have", "had"}
NEUTRAL_PHRASES = ["to be honest,", "in my view,", "overall,", "as expected,", "for what it's worth,"]

# Words a substitute may not be: the model's next-word proposals are often function words that
# make the sentence ungrammatical ("Do staff, generous portions...").
FUNCTION_WORDS = frozenset("""a an and are as at be been but by can could did do does for from had has have \
he her his how i if
in into is it its me my of on or our she so than that the their them then there these they this those to too \
us was we were
what when where which while who why will with would you your just also very really""".split())

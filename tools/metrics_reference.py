#!/usr/bin/python3
"""Reference values for freqcap's caption metrics, computed with NLTK 3.8.

Reads the committed caption set tests/fixtures/metrics/captions.json
({"references": {path: [5 captions]}, "predictions": {path: caption}}),
tokenizes every caption with the Python twin of freqcap's standardization rule
(text/standardize.hpp, docs/metrics.md), and writes
tests/fixtures/metrics/nltk_reference.json with:
  tokens          every caption's tokens (checks the C++ tokenizer)
  corpus_bleu     NLTK corpus_bleu, BLEU-1..4 (uniform weights), all images
  corpus_bleu_long  the same over images whose candidate has >= 4 tokens
  sentence_bleu   per image, multi-reference, smoothing method0 and method1
  seed_bleu       per image, mean over references of single-reference
                  sentence_bleu with method1 (the seed protocol)
  meteor          per image, meteor_score with WordNet (best reference)
  meteor_nosyn    the same with a WordNet that knows no word
  seed_meteor     per image, mean of single_meteor_score over references
  stems           NLTK PorterStemmer stems of the fixture words and of a
                  sample of WordNet lemmas
  synonyms        for every fixture word's stem: sorted lemma names without
                  '_' of wordnet.synsets(stem)
Debian's WordNet (wordnet-base, /usr/share/wordnet) lacks the `lexnames` file
NLTK's reader wants; this script links the database into a temporary
directory and writes lexnames (the standard WordNet 3.0 list) beside it.

Usage (needs python3-nltk and wordnet-base):
  tools/metrics_reference.py [--wordnet /usr/share/wordnet] [--write-captions]
--write-captions regenerates captions.json first (deterministic).
"""
import argparse
import json
import os
import random
import sys
import tempfile

import nltk
from nltk.corpus.reader.wordnet import WordNetCorpusReader
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu
from nltk.translate.meteor_score import meteor_score, single_meteor_score

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(HERE, "..", "tests", "fixtures", "metrics")

LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact
noun.attribute noun.body noun.cognition noun.communication noun.event noun.feeling
noun.food noun.group noun.location noun.motive noun.object noun.person
noun.phenomenon noun.plant noun.possession noun.process noun.quantity
noun.relation noun.shape noun.state noun.substance noun.time verb.body
verb.change verb.cognition verb.communication verb.competition
verb.consumption verb.contact verb.creation verb.emotion verb.motion
verb.perception verb.possession verb.social verb.stative verb.weather
adj.ppl""".split()

# ---------------------------------------------------------------- tokenizer
SPLIT = set(',;?!:"`()[]{}')
REMOVED = {"''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "-rcb-", ".", "?", "!", ",",
           ":", "-", "--", "...", ";"}
CLITICS = {"'s", "'re", "'ve", "'ll", "'d", "'m", "n't"}
SPACE = set(" \t\n\r\f\v")


def _removed(t):
    return t == "" or t in REMOVED or all(c in ".-'" for c in t)


def _emit(p, out):
    if p in CLITICS:
        out.append(p)
        return
    while p and p[0] in "'-":
        p = p[1:]
    while p and p[-1] in "'-.":
        p = p[:-1]
    if not p or _removed(p):
        return
    if len(p) > 3 and p.endswith("n't"):
        out += [p[:-3], "n't"]
        return
    a = p.rfind("'")
    if a > 0 and p[a:] in CLITICS:
        out += [p[:a], p[a:]]
        return
    out.append(p)


def standardize_tokens(caption):
    """Python twin of freqcap::standardize_tokens (ASCII lower-casing only)."""
    s = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in caption)
    out, cur = [], ""
    for c in s:
        if c in SPACE or c in SPLIT:
            if cur:
                _emit(cur, out)
            cur = ""
        else:
            cur += c
    if cur:
        _emit(cur, out)
    return out


def strip_markers(caption):
    words = caption.split()
    if words and words[0].lower() in ("sos", "<start>"):
        words = words[1:]
    if words and words[-1].lower() in ("eos", "<end>"):
        words = words[:-1]
    return " ".join(words)


# ---------------------------------------------------------------- captions
def make_captions():
    """A varied, deterministic caption set: ~70 images x 5 references."""
    rng = random.Random(20240601)
    people = [("a man", "a guy"), ("a woman", "a lady"), ("a child", "a kid"),
              ("two people", "a couple"), ("a girl", "a young girl")]
    items = [("shoe", "sneaker"), ("jacket", "coat"), ("trousers", "pants"),
             ("handbag", "purse"), ("sofa", "couch"), ("car", "automobile"),
             ("picture", "photo"), ("dress", "frock"), ("shirt", "top"),
             ("boot", "ankle boot")]
    colors = ["red", "blue", "black", "white", "green", "brown"]
    verbs = [("walking", "walks", "walked"), ("sitting", "sits", "sat"),
             ("running", "runs", "ran"), ("standing", "stands", "stood"),
             ("holding", "holds", "held")]
    places = ["on a street", "in a park", "near the beach", "in a small room",
              "beside a big building", "on the grass"]
    refs, preds = {}, {}

    def ref_for(p, it, col, vb, pl):
        who = rng.choice(p)
        thing = rng.choice(it)
        form = rng.choice(["%s is %s" % (who, vb[0]), "%s %s" % (who, vb[1]),
                           "%s %s" % (who, vb[0])])
        templ = rng.choice([
            "{form} {pl} wearing a {col} {thing}.",
            "{form} {pl}, with a {col} {thing}",
            "There is {who} with {col} {thing}s {pl}.",
            "{Form} {pl} and carrying {col} {thing}s!",
            "A {col} {thing} and {who} {pl}",
        ])
        s = templ.format(form=form, Form=form.capitalize(), pl=pl, col=col,
                         thing=thing, who=who)
        return s[0].upper() + s[1:]

    for i in range(56):
        p, it, col, vb, pl = (rng.choice(people), rng.choice(items), rng.choice(colors),
                              rng.choice(verbs), rng.choice(places))
        path = "images/scene_%03d.png" % i
        rs = [ref_for(p, it, col, vb, pl) for _ in range(5)]
        if i % 4 == 0:
            rs = ["sos " + r + " eos" for r in rs]
        elif i % 4 == 1:
            rs = ["<start> " + r + " <end>" for r in rs]
        refs[path] = rs
        # Candidates: synonym swaps, other verb forms, plural, shuffles, noise.
        kind = i % 7
        who = rng.choice(p)
        thing = rng.choice(it)
        if kind == 0:
            c = "%s %s %s wearing a %s %s" % (who, vb[2], pl, col, thing)
        elif kind == 1:
            c = "%s in %s %ss is %s %s" % (who, col, thing, vb[0], pl)
        elif kind == 2:
            c = "%s %s %s" % (col, thing, pl)
        elif kind == 3:
            c = "a %s %s %s %s, %s" % (col, col, thing, thing, who)
        elif kind == 4:
            c = "%s %s" % (who, vb[1])
        elif kind == 5:
            c = "%s is %s %s with a %s %s and a %s bag" % (
                who, vb[0], pl, rng.choice(colors), thing, rng.choice(colors))
        else:
            c = rs[rng.randrange(5)].replace("sos ", "").replace(" eos", "")
            c = c.replace("<start> ", "").replace(" <end>", "")
        preds[path] = c
    extra = {
        "special/identical.jpg": (
            ["A black dog runs across the green field.", "A dog running on grass.",
             "The black dog is running in a field", "a dog sprints through a meadow",
             "A dark dog runs outside."], "A black dog runs across the green field."),
        "special/no_overlap.jpg": (
            ["A plate of food on a table.", "Some food served on a white plate.",
             "A meal on a dinner table", "Food is on the plate.",
             "A dish with vegetables and rice."], "zebras graze quietly"),
        "special/punctuation.jpg": (
            ["A man's red T-shirt -- hanging (on a line).", "\"Red shirt\" on a clothes-line!",
             "A red t-shirt hangs outside; it's drying...", "Laundry: a red shirt, drying.",
             "A red shirt isn't dry yet?"], "A red T-shirt's hanging on the line..."),
        "special/repeated.jpg": (
            ["a cat sitting on a mat", "the cat sits on the mat", "a cat on a rug",
             "a grey cat is sitting on a mat", "cat on mat"], "the the the cat cat mat"),
        "special/short.jpg": (
            ["Two horses grazing in a field.", "Horses eat grass in a pasture.",
             "Two brown horses in a meadow", "A pair of horses on a farm.",
             "Horses grazing."], "horses grazing"),
        "special/long.jpg": (
            ["A busy city street full of people, cars, buses and tall buildings on a sunny day.",
             "People walking along a crowded street.", "A crowded street in a city.",
             "Many cars and people on a city road between tall buildings.",
             "A street scene."],
            "a crowded city street with many people walking past tall buildings while cars "
            "and buses drive by on a sunny afternoon"),
        "special/stems.jpg": (
            ["Children are playing games in the playground.", "Kids played a game outside.",
             "A child plays on the playground equipment.", "Several children playing together.",
             "Young kids enjoying playtime."], "the child plays games on playgrounds"),
        "special/synonyms.jpg": (
            ["A large automobile parked beside the road.", "A big car parked by the street.",
             "A huge vehicle parked near a road.", "A car is parked on the roadside.",
             "A large car stopped next to the road."], "a big auto parked beside the street"),
        "special/clothes.jpg": (
            ["A woman wearing a long coat and boots.", "A lady in a coat with sneakers.",
             "A woman dressed in a jacket and shoes.", "Woman wearing an overcoat.",
             "A person in winter clothes."], "a lady wears a jacket and sneakers"),
        "special/single_word.jpg": (
            ["A bird.", "A small bird on a branch.", "Bird sitting on a tree branch.",
             "A sparrow perched on a twig.", "A little bird in a tree."], "bird"),
        "special/empty.jpg": (
            ["An empty room with white walls.", "A bare room.", "An unfurnished white room.",
             "A room with nothing in it.", "White walls in an empty room."], "  "),
        "special/unicode.jpg": (
            ["A café with outdoor tables.", "People sitting at a café.",
             "Tables outside a small cafe.", "An outdoor café on a street.",
             "A sidewalk café with chairs."], "a café with tables outside"),
        "special/numbers.jpg": (
            ["3 dogs and 2 cats on a sofa.", "Three dogs and two cats on a couch.",
             "Pets resting on a couch.", "Dogs and cats sitting together on the sofa.",
             "5 animals on a sofa."], "3 dogs and 2 cats resting on the couch"),
        "special/shoes.jpg": (
            ["A pair of white sneakers on the floor.", "White shoes on a wooden floor.",
             "Two sneakers side by side.", "A pair of white tennis shoes.",
             "Some shoes lying on the ground."], "a pair of white shoes on the ground"),
    }
    for path, (rs, c) in extra.items():
        refs[path] = rs
        preds[path] = c
    return {"references": refs, "predictions": preds}


# ---------------------------------------------------------------- reference
def open_wordnet(path):
    tmp = tempfile.mkdtemp(prefix="freqcap_wn_")
    for name in os.listdir(path):
        os.symlink(os.path.join(path, name), os.path.join(tmp, name))
    if not os.path.exists(os.path.join(tmp, "lexnames")):
        with open(os.path.join(tmp, "lexnames"), "w") as f:
            pos_number = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
            for i, name in enumerate(LEXNAMES):
                f.write("%02d\t%s\t%d\n" % (i, name, pos_number[name.split(".")[0]]))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WordNetCorpusReader(tmp, None)


class NoWordNet:
    def synsets(self, word):
        return []


def sample_lemmas(path, every=25):
    words = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(path, "index." + pos)) as f:
            for k, line in enumerate(f):
                if line.startswith(" "):
                    continue
                w = line.split()[0]
                if k % every == 0 and w.isalpha():
                    words.append(w)
    return sorted(set(words))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--write-captions", action="store_true")
    args = ap.parse_args()
    cap_path = os.path.join(FIXTURE_DIR, "captions.json")
    if args.write_captions:
        os.makedirs(FIXTURE_DIR, exist_ok=True)
        with open(cap_path, "w") as f:
            json.dump(make_captions(), f, indent=1, ensure_ascii=False)
            f.write("\n")
    with open(cap_path) as f:
        data = json.load(f)
    wn = open_wordnet(args.wordnet)
    paths = list(data["references"].keys())
    refs = [[standardize_tokens(strip_markers(r)) for r in data["references"][p]] for p in paths]
    hyps = [standardize_tokens(strip_markers(data["predictions"][p])) for p in paths]
    weights = [tuple([1.0 / n] * n) for n in range(1, 5)]
    sm = SmoothingFunction()
    import warnings
    warnings.simplefilter("ignore")
    out = {"nltk_version": nltk.__version__, "paths": paths}
    out["tokens"] = {"references": refs, "predictions": hyps}
    out["corpus_bleu"] = [corpus_bleu(refs, hyps, weights=w) for w in weights]
    long_idx = [i for i, h in enumerate(hyps) if len(h) >= 4]
    out["corpus_bleu_long_images"] = long_idx
    out["corpus_bleu_long"] = [corpus_bleu([refs[i] for i in long_idx],
                                           [hyps[i] for i in long_idx], weights=w)
                               for w in weights]
    out["sentence_bleu"] = {
        "method0": [[sentence_bleu(r, h, weights=w) for w in weights]
                    for r, h in zip(refs, hyps)],
        "method1": [[sentence_bleu(r, h, weights=w, smoothing_function=sm.method1)
                     for w in weights] for r, h in zip(refs, hyps)],
    }
    out["seed_bleu"] = [[sum(sentence_bleu([ref], h, weights=w, smoothing_function=sm.method1)
                             for ref in r) / len(r) for w in weights]
                        for r, h in zip(refs, hyps)]
    out["meteor"] = [meteor_score(r, h, wordnet=wn) for r, h in zip(refs, hyps)]
    out["meteor_nosyn"] = [meteor_score(r, h, wordnet=NoWordNet()) for r, h in zip(refs, hyps)]
    out["seed_meteor"] = [sum(single_meteor_score(ref, h, wordnet=wn) for ref in r) / len(r)
                          for r, h in zip(refs, hyps)]
    stemmer = PorterStemmer()
    words = sorted({w for r in refs for s in r for w in s} | {w for h in hyps for w in h})
    lemma_words = sample_lemmas(args.wordnet)
    out["stems"] = {w: stemmer.stem(w) for w in sorted(set(words) | set(lemma_words))}
    out["synonyms"] = {}
    for w in words:
        st = stemmer.stem(w)
        names = {l.name() for s in wn.synsets(st) for l in s.lemmas() if "_" not in l.name()}
        out["synonyms"][st] = sorted(names | {st})
    ref_path = os.path.join(FIXTURE_DIR, "nltk_reference.json")
    with open(ref_path, "w") as f:
        json.dump(out, f, indent=None, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d images, %d stems, corpus BLEU %s, mean METEOR %.6f" % (
        ref_path, len(paths), len(out["stems"]), [round(b, 6) for b in out["corpus_bleu"]],
        sum(out["meteor"]) / len(paths)), file=sys.stderr)


if __name__ == "__main__":
    main()

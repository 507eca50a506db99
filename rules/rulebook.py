"""Loading and validation of the YAML rulebook.

A rulebook directory holds:

* ``lexicons.yaml``: named term lists (``lexicons: {name: [terms]}``), referenced
  from rules as ``"@name"``;
* ``lexicons/*.yaml``: lexicons kept as data with provenance (diseases, drugs with
  their prescription status, the statutory health-food functions …), one file
  each, every entry naming its source; referenced as ``"@name"``, or filtered on
  an entry field as ``"@name:field=value"`` (``"@drugs:rx=true"``, several filters
  chained: ``"@drugs:rx=true:class=降糖药"``), and a file's
  ``stems`` as ``"@name:stems"``;
* ``categories.yaml``: the category classifier lexicon (it may reference lexicons too);
* ``articles.yaml``: the articles rules cite, by key, each with its law, penalty and
  whether its number was checked against the law text; a rule's ``law`` and
  ``penalty`` default to its article's (a folder without the file uses the default rulebook's);
* any other ``*.yaml``: rule files (``version:`` and ``rules: [...]``).

Every problem is reported as ``<file>: rule <id>: field '<field>': <message>``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_RULEBOOK_DIR = Path(__file__).resolve().parent / "rulebook"
LEXICON_FILE = "lexicons.yaml"
LEXICON_DATA_DIR = "lexicons"
NEGATION_LEXICON = "negation_cues"
EDITORIAL_LEXICON = "editorial_cues"
COMMERCIAL_LEXICON = "commercial_cues"
CATEGORY_FILE = "categories.yaml"
ARTICLE_FILE = "articles.yaml"
#: Said at the end of every explanation citing an article whose number ``articles.yaml`` marks unverified.
UNVERIFIED_NOTE = "（条号未经官方文本核实 article number unverified）"

Severity = Literal["high", "medium", "low"]


class RulebookError(Exception):
    """A rulebook file is invalid; ``problems`` lists every located message."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """Return a `` (did you mean 'x'?)`` suffix, or an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


def known_article(value: str, keys: Sequence[str] | None = None) -> str:
    """``value`` if it is a known article key (of ``keys``, default the rulebook's); a ``ValueError`` otherwise."""
    known = ARTICLE_KEYS if keys is None else keys
    if value not in known:
        raise ValueError(f"unknown article_key {value!r}{did_you_mean(value, known)}")
    return value


def _context_keys(info: ValidationInfo) -> Sequence[str] | None:
    """The article keys a loader validates against (``context={"articles": …}``), or ``None`` for the default."""
    return (info.context or {}).get("articles")


class StrictModel(BaseModel):
    """Base model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Near(StrictModel):
    """Proximity: a term of ``first`` and a term of ``second`` within ``within`` characters."""

    first: list[str] = Field(min_length=1)
    second: list[str] = Field(min_length=1)
    within: int = Field(default=8, ge=0, le=60)
    ordered: bool = False
    cross_clause: bool = False


class Pattern(StrictModel):
    """One way a rule can match: literal terms, a triggered regex, or proximity."""

    terms: list[str] = Field(default_factory=list)
    regex: str | None = None
    triggers: list[str] = Field(default_factory=list)
    near: Near | None = None

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _check_regex(value)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Pattern:
        kinds = [bool(self.terms), self.regex is not None, self.near is not None]
        if sum(kinds) != 1:
            raise ValueError("each pattern needs exactly one of 'terms', 'regex' (with 'triggers') or 'near'")
        if self.regex is not None and not self.triggers:
            raise ValueError("a 'regex' pattern needs 'triggers': literal terms that locate candidates")
        return self


class Exemptions(StrictModel):
    """Contexts in which a candidate is not a violation."""

    terms: list[str] = Field(default_factory=list)
    before: str | None = None
    after: str | None = None
    sentence: list[str] = Field(default_factory=list)
    sentence_all: list[str] = Field(default_factory=list)
    document: list[str] = Field(default_factory=list)

    @field_validator("before", "after")
    @classmethod
    def _optional_regex(cls, value: str | None) -> str | None:
        return None if value is None else _check_regex(value)

    @field_validator("sentence", "sentence_all", "document")
    @classmethod
    def _regex_list(cls, values: list[str]) -> list[str]:
        return [_check_regex(value) for value in values]


class Requirement(StrictModel):
    """A mandatory element: present when any regex in ``any`` matches."""

    label: str
    any: list[str] = Field(min_length=1)

    @field_validator("any")
    @classmethod
    def _regex_list(cls, values: list[str]) -> list[str]:
        return [_check_regex(value) for value in values]


class Rule(StrictModel):
    """One rule of the rulebook; ``law`` and ``penalty`` left out are its article's (``articles.yaml``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    law: str = ""
    article: str
    article_key: str
    see_also: list[str] = Field(default_factory=list)
    categories: list[str] = Field(min_length=1)
    excluded_categories: list[str] = Field(default_factory=list)
    severity: Severity
    kind: Literal["match", "absence", "price_history"] = "match"
    patterns: list[Pattern] = Field(default_factory=list)
    requires: list[list[str]] = Field(default_factory=list)
    required: list[Requirement] = Field(default_factory=list)
    exemptions: Exemptions = Field(default_factory=Exemptions)
    word_boundary: bool = False
    negatable: bool = True
    max_hits: int | None = Field(default=None, ge=1)
    explanation: str
    penalty: str = ""
    description: str = ""

    @field_validator("patterns", mode="before")
    @classmethod
    def _flatten_shared_lists(cls, value: Any) -> Any:
        """A shared list of patterns (a YAML alias) may stand among the patterns: its items count one by one."""
        if not isinstance(value, list):
            return value
        return [item for entry in value for item in (entry if isinstance(entry, list) else [entry])]

    @field_validator("article_key")
    @classmethod
    def _known_article_key(cls, value: str, info: ValidationInfo) -> str:
        return known_article(value, _context_keys(info))

    @field_validator("see_also")
    @classmethod
    def _known_see_also(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return [known_article(value, _context_keys(info)) for value in values]

    @property
    def cited_article(self) -> str:
        """The article as a hit shows it: the rule's own, then the articles it also engages (``see_also``)."""
        return f"{self.article}；另见{'、'.join(self.see_also)}" if self.see_also else self.article

    @field_validator("categories", "excluded_categories")
    @classmethod
    def _known_categories(cls, values: list[str]) -> list[str]:
        for value in values:
            if value != "all" and value not in CATEGORY_KEYS:
                options = (*CATEGORY_KEYS, "all")
                raise ValueError(f"unknown category {value!r}{did_you_mean(value, options)}")
        return values

    @model_validator(mode="after")
    def _kind_fields(self) -> Rule:
        if self.kind == "match" and not self.patterns:
            raise ValueError("a 'match' rule needs at least one entry in 'patterns'")
        if self.kind == "absence" and not self.required:
            raise ValueError("an 'absence' rule needs at least one entry in 'required'")
        if self.kind == "price_history" and (self.patterns or self.required):
            raise ValueError("a 'price_history' rule is found over price history: it takes no 'patterns' or 'required'")
        return self

    def applies_to(self, categories: Sequence[str]) -> str | None:
        """Return the ad category under which this rule applies, or ``None``."""
        if any(category in self.excluded_categories for category in categories):
            return None
        if "all" in self.categories:
            return categories[0] if categories else "general"
        for category in categories:
            if category in self.categories:
                return category
        return None


class RuleFile(StrictModel):
    """The top level of a rule file; ``definitions`` holds YAML anchors that several rules share."""

    version: str
    definitions: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


class Article(StrictModel):
    """One article rules cite: its law, the penalty it carries, and whether its number was checked."""

    law: str = Field(min_length=1)
    penalty: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    verified: bool

    @property
    def note(self) -> str:
        """What a hit citing this article adds to its explanation: nothing, or that its number is unverified."""
        return "" if self.verified else UNVERIFIED_NOTE


class ArticleFile(StrictModel):
    """The top level of ``articles.yaml``: article key → :class:`Article`."""

    version: str
    articles: dict[str, Article] = Field(min_length=1)


class CategorySpec(StrictModel):
    """Classifier lexicon for one category."""

    label: str
    strong: list[str] = Field(default_factory=list)
    weak: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    overrides: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _regex_list(cls, values: list[str]) -> list[str]:
        return [_check_regex(value) for value in values]


class CategoryFile(StrictModel):
    """The top level of ``categories.yaml``."""

    version: str
    threshold: int = 3
    categories: dict[str, CategorySpec]

    @field_validator("categories")
    @classmethod
    def _known_keys(cls, values: dict[str, CategorySpec]) -> dict[str, CategorySpec]:
        for key in values:
            if key not in CATEGORY_KEYS:
                raise ValueError(f"unknown category {key!r}{did_you_mean(key, CATEGORY_KEYS)}")
        return values


class LexiconFile(StrictModel):
    """The top level of ``lexicons.yaml``."""

    version: str
    lexicons: dict[str, list[str]]


class LexiconSource(StrictModel):
    """Where a data lexicon's entries come from."""

    id: str
    title: str
    url: str = ""


class LexiconEntry(BaseModel):
    """One term of a data lexicon; fields beside ``term`` and ``source`` (``rx``, ``group`` …) may be filtered on."""

    model_config = ConfigDict(extra="allow", frozen=True)

    term: str = Field(min_length=1)
    source: str


class LexiconStem(BaseModel):
    """A word part that marks a class of terms (``他汀`` for statins)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    stem: str = Field(min_length=1)


class DataLexicon(StrictModel):
    """One file of ``lexicons/``: a named term list with the provenance of every entry."""

    lexicon: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    sources: list[LexiconSource] = Field(min_length=1)
    entries: list[LexiconEntry] = Field(min_length=1)
    stems: list[LexiconStem] = Field(default_factory=list)

    @field_validator("entries")
    @classmethod
    def _sources_known(cls, entries: list[LexiconEntry], info: ValidationInfo) -> list[LexiconEntry]:
        known = {source.id for source in info.data.get("sources", [])}
        for index, entry in enumerate(entries):
            if entry.source not in known:
                hint = did_you_mean(entry.source, known)
                raise ValueError(f"entry {index} ({entry.term}): unknown source {entry.source!r}{hint}")
        return entries

    def named_lists(self) -> dict[str, list[str]]:
        """``name``, ``name:stems`` and one ``name:field=value`` list for every scalar field value of the entries.

        An entry marked ``ambiguous: true`` (a term that often means something else: 发热 of a
        heater, 人流 of a crowd) is left out of every list but ``name:ambiguous=true``.
        """
        lists: dict[str, list[str]] = {self.lexicon: []}
        if self.stems:
            lists[f"{self.lexicon}:stems"] = [stem.stem for stem in self.stems]
        for entry in self.entries:
            extra = entry.model_extra or {}
            if extra.get("ambiguous") is True:
                lists.setdefault(f"{self.lexicon}:ambiguous=true", []).append(entry.term)
                continue
            lists[self.lexicon].append(entry.term)
            for name, value in extra.items():
                if isinstance(value, (str, bool, int)):
                    shown = str(value).lower() if isinstance(value, bool) else str(value)
                    lists.setdefault(f"{self.lexicon}:{name}={shown}", []).append(entry.term)
        return lists


class Rulebook(StrictModel):
    """A loaded, validated and lexicon-expanded rulebook."""

    version: str
    rules: list[Rule]
    articles: dict[str, Article]
    categories: CategoryFile
    sources: list[str]
    negation_cues: list[str] = Field(default_factory=list)
    editorial_cues: list[str] = Field(default_factory=list)
    commercial_cues: list[str] = Field(default_factory=list)


def _field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _format_error(
    source: str, rule_id: str | None, loc: Sequence[int | str], error: ErrorDetails, model: type[BaseModel]
) -> str:
    field = _field_path(loc) or "<top level>"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        allowed = _allowed_fields(model, loc)
        message = f"unknown field{did_you_mean(str(loc[-1]), allowed)}"
    elif error["type"] == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = "must be one of " + expected.replace("'", "").replace(" or ", ", ")
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    where = f"rule {rule_id}: " if rule_id else ""
    return f"{source}: {where}field '{field}': {message}"


def _allowed_fields(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Walk ``loc`` (minus the unknown key) through nested models to list valid names."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not hasattr(current, "model_fields"):
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        current = _inner_model(field.annotation) or current
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _read_yaml(path: Path, source: str) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise RulebookError([f"{source}: invalid YAML{where}: {getattr(exc, 'problem', exc)}"]) from exc
    except OSError as exc:
        raise RulebookError([f"{source}: cannot read file: {exc.strerror}"]) from exc


def _display(path: Path) -> str:
    """A short, machine-independent name for ``path`` in messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name if path.parent == DEFAULT_RULEBOOK_DIR else str(path)


def _validate_rules(data: Any, source: str, articles: dict[str, Article]) -> tuple[RuleFile | None, list[str]]:
    if not isinstance(data, dict):
        return None, [f"{source}: field '<top level>': expected a mapping with 'version' and 'rules'"]
    problems: list[str] = []
    raw_rules: list[Any] = data["rules"] if isinstance(data.get("rules"), list) else []
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules):
        rule_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{index + 1}"
        try:
            rule = Rule.model_validate(raw, context={"articles": list(articles)})
            rules.append(_with_article_defaults(rule, articles))
        except ValidationError as exc:
            problems.extend(_format_error(source, rule_id, err["loc"], err, Rule) for err in exc.errors())
    try:
        header = RuleFile.model_validate({**data, "rules": []})
    except ValidationError as exc:
        problems.extend(_format_error(source, None, err["loc"], err, RuleFile) for err in exc.errors())
        return None, problems
    if "rules" in data and not isinstance(data["rules"], list):
        problems.append(f"{source}: field 'rules': expected a list of rules")
    return RuleFile(version=header.version, rules=rules), problems


def _with_article_defaults(rule: Rule, articles: dict[str, Article]) -> Rule:
    """The rule with the law and penalty of its article where it names none of its own."""
    article = articles[rule.article_key]
    return rule.model_copy(update={"law": rule.law or article.law, "penalty": rule.penalty or article.penalty})


def load_articles(directory: Path | None = None) -> dict[str, Article]:
    """The articles of ``directory/articles.yaml`` (the default rulebook's when the folder has none), in file order."""
    path = (directory or DEFAULT_RULEBOOK_DIR) / ARTICLE_FILE
    if not path.exists():
        path = DEFAULT_RULEBOOK_DIR / ARTICLE_FILE
    source = _display(path)
    try:
        return ArticleFile.model_validate(_read_yaml(path, source)).articles
    except ValidationError as exc:
        problems = [_format_error(source, None, err["loc"], err, ArticleFile) for err in exc.errors()]
        raise RulebookError(problems) from exc


def _lexicon_terms(name: str, lexicons: dict[str, list[str]]) -> list[str] | None:
    """The terms of ``name``; ``drugs:rx=true:class=降糖药`` is the intersection of its filters."""
    if name in lexicons:
        return lexicons[name]
    base, *filters = name.split(":")
    if len(filters) < 2 or any(f"{base}:{part}" not in lexicons for part in filters):
        return None
    kept = set.intersection(*(set(lexicons[f"{base}:{part}"]) for part in filters))
    return [term for term in lexicons[f"{base}:{filters[0]}"] if term in kept]


def _expand_terms(terms: Sequence[str], lexicons: dict[str, list[str]], where: str, problems: list[str]) -> list[str]:
    expanded: list[str] = []
    for term in terms:
        if term.startswith("@"):
            name = term[1:]
            found = _lexicon_terms(name, lexicons)
            if found is None:
                problems.append(f"{where}: unknown lexicon '@{name}'{did_you_mean(name, lexicons)}")
                continue
            expanded.extend(found)
        elif term:
            expanded.append(term)
    return list(dict.fromkeys(expanded))


def _expand_rule(rule: Rule, lexicons: dict[str, list[str]], source: str, problems: list[str]) -> Rule:
    def where(field: str) -> str:
        return f"{source}: rule {rule.id}: field '{field}'"

    patterns = []
    for index, pattern in enumerate(rule.patterns):
        prefix = f"patterns.{index}"
        near = pattern.near
        if near is not None:
            near = near.model_copy(
                update={
                    "first": _expand_terms(near.first, lexicons, where(f"{prefix}.near.first"), problems),
                    "second": _expand_terms(near.second, lexicons, where(f"{prefix}.near.second"), problems),
                }
            )
        patterns.append(
            pattern.model_copy(
                update={
                    "terms": _expand_terms(pattern.terms, lexicons, where(f"{prefix}.terms"), problems),
                    "triggers": _expand_terms(pattern.triggers, lexicons, where(f"{prefix}.triggers"), problems),
                    "near": near,
                }
            )
        )
    exemptions = rule.exemptions.model_copy(
        update={"terms": _expand_terms(rule.exemptions.terms, lexicons, where("exemptions.terms"), problems)}
    )
    requires = [
        _expand_terms(group, lexicons, where(f"requires.{index}"), problems)
        for index, group in enumerate(rule.requires)
    ]
    return rule.model_copy(update={"patterns": patterns, "exemptions": exemptions, "requires": requires})


def _load_lexicons(directory: Path, problems: list[str]) -> dict[str, list[str]]:
    """``lexicons.yaml`` and every data lexicon of ``lexicons/``; a name in both gets the union of their terms."""
    lexicons: dict[str, list[str]] = {}
    path = directory / LEXICON_FILE
    if path.exists():
        source = _display(path)
        try:
            lexicons.update(LexiconFile.model_validate(_read_yaml(path, source)).lexicons)
        except ValidationError as exc:
            problems.extend(_format_error(source, None, err["loc"], err, LexiconFile) for err in exc.errors())
        except RulebookError as exc:
            problems.extend(exc.problems)
    for data_path in sorted((directory / LEXICON_DATA_DIR).glob("*.yaml")):
        for name, terms in _load_data_lexicon(data_path, problems).items():
            lexicons[name] = list(dict.fromkeys([*lexicons.get(name, []), *terms]))
    return lexicons


def _load_data_lexicon(path: Path, problems: list[str]) -> dict[str, list[str]]:
    source = _display(path)
    try:
        return DataLexicon.model_validate(_read_yaml(path, source)).named_lists()
    except ValidationError as exc:
        problems.extend(_format_error(source, None, err["loc"], err, DataLexicon) for err in exc.errors())
    except RulebookError as exc:
        problems.extend(exc.problems)
    return {}


def _load_categories(directory: Path, lexicons: dict[str, list[str]], problems: list[str]) -> CategoryFile | None:
    path = directory / CATEGORY_FILE
    source = _display(path)
    if not path.exists():
        problems.append(f"{source}: file is missing")
        return None
    try:
        spec = CategoryFile.model_validate(_read_yaml(path, source))
        categories = {
            key: category.model_copy(
                update={
                    kind: _expand_terms(
                        getattr(category, kind), lexicons, f"{source}: category {key}: field '{kind}'", problems
                    )
                    for kind in ("strong", "weak")
                }
            )
            for key, category in spec.categories.items()
        }
        return spec.model_copy(update={"categories": categories})
    except ValidationError as exc:
        problems.extend(_format_error(source, None, err["loc"], err, CategoryFile) for err in exc.errors())
    except RulebookError as exc:
        problems.extend(exc.problems)
    return None


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a rulebook directory, in a stable order."""
    return sorted(p for p in directory.glob("*.yaml") if p.name not in (LEXICON_FILE, CATEGORY_FILE, ARTICLE_FILE))


def lint_rule_files(
    paths: Sequence[Path], lexicons: dict[str, list[str]] | None = None, articles: dict[str, Article] | None = None
) -> tuple[list[Rule], list[str], list[str]]:
    """Validate rule files; return (rules, versions, problems). Duplicated ids are problems too."""
    if articles is None:
        articles = load_articles(paths[0].parent if paths else None)
    if lexicons is None:
        lexicons = {}
        for directory in dict.fromkeys(path.parent for path in paths):
            lexicons.update(_load_lexicons(directory, []))
    problems: list[str] = []
    rules: list[Rule] = []
    versions: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        source = _display(path)
        try:
            data = _read_yaml(path, source)
        except RulebookError as exc:
            problems.extend(exc.problems)
            continue
        parsed, file_problems = _validate_rules(data, source, articles)
        problems.extend(file_problems)
        if parsed is None:
            continue
        versions.append(parsed.version)
        for rule in parsed.rules:
            if rule.id in seen:
                problems.append(f"{source}: rule {rule.id}: field 'id': duplicate id, first defined in {seen[rule.id]}")
                continue
            seen[rule.id] = source
            rules.append(_expand_rule(rule, lexicons, source, problems))
    return rules, versions, problems


def load_rulebook(directory: Path | str | None = None) -> Rulebook:
    """Load and validate every file of a rulebook directory; raise :class:`RulebookError` on any problem."""
    folder = Path(directory) if directory is not None else DEFAULT_RULEBOOK_DIR
    if not folder.is_dir():
        raise RulebookError([f"{folder}: not a rulebook directory"])
    problems: list[str] = []
    articles = load_articles(folder)
    lexicons = _load_lexicons(folder, problems)
    categories = _load_categories(folder, lexicons, problems)
    files = rule_files(folder)
    rules, versions, rule_problems = lint_rule_files(files, lexicons, articles)
    problems.extend(rule_problems)
    if not files:
        problems.append(f"{folder}: no rule files")
    if problems or categories is None:
        raise RulebookError(problems)
    version = "+".join(dict.fromkeys(versions))
    return Rulebook(
        version=version,
        rules=rules,
        articles=articles,
        categories=categories,
        sources=[p.name for p in files],
        negation_cues=lexicons.get(NEGATION_LEXICON, []),
        editorial_cues=lexicons.get(EDITORIAL_LEXICON, []),
        commercial_cues=lexicons.get(COMMERCIAL_LEXICON, []),
    )


ARTICLE_KEYS: tuple[str, ...] = tuple(load_articles())
"""The article keys of the default rulebook, in the order results list them."""


def _category_labels() -> dict[str, str]:
    """Category key → Chinese label, in the order of the default rulebook's ``categories.yaml`` (one place for both)."""
    data = _read_yaml(DEFAULT_RULEBOOK_DIR / CATEGORY_FILE, CATEGORY_FILE)
    return {key: spec["label"] for key, spec in data["categories"].items()}


CATEGORY_LABELS: dict[str, str] = _category_labels()
CATEGORY_KEYS: tuple[str, ...] = tuple(CATEGORY_LABELS)

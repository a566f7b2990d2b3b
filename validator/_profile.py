"""Profiles: what a target serves and offers, loadable from TOML."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._editions import DEFAULT_EDITION, CustomSizes, Edition, EditionError, get_edition
from ._models import DEFAULT_MODEL, FAMILIES, Family

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FEATURES: dict[str, str] = {
    "streaming": "stream: true answered as text/event-stream (GPT image models)",
    "url_responses": "response_format url answered with fetchable image URLs (dall-e models)",
    "b64_json_responses": "base64 images in the JSON body",
    "transparency": "background: transparent gives images with transparent pixels",
    "output_formats": "output_format jpeg and webp, and output_compression",
    "dall-e-2": "the dall-e-2 model family",
    "dall-e-3": "the dall-e-3 model family",
    "gpt-image": "the GPT image model family",
}
"""Optional features a target may declare. The default profile declares all of them."""

UNCONSTRAINED = "unconstrained"


class ProfileError(ValueError):
    """A profile file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Profile:
    """What a target serves: model names and their families, features, and gating policy."""

    name: str = "openai"
    models: Mapping[str, Family | None] = None  # type: ignore[assignment]
    """Model name -> family it behaves like (None: served, but no per-model rules apply).
    Default: the models the edition lists."""
    default_model: str = DEFAULT_MODEL
    """The model used when a request names none and no GPT-image-only parameter is given."""
    features: frozenset[str] = frozenset(FEATURES)
    strict: bool = False
    """When true, SHOULD rules gate like MUST rules."""
    auth: bool | None = None
    """Whether the target checks API keys; None means "when an API key is given"."""
    known_failures: Mapping[str, str] = field(default_factory=dict)
    """Rule id -> reason, for rules the target is known to fail."""
    edition: Edition = DEFAULT_EDITION
    """The edition of the official text the target is judged by (see docs/editions.md)."""
    custom_size_models: frozenset[str] = None  # type: ignore[assignment]
    """The model names that take free WIDTHxHEIGHT sizes within the edition's limits.
    Default: those the edition lists that the profile serves."""
    _memo: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """The validator's memo of pure rule answers under this profile (see Rule.pure)."""

    def __post_init__(self) -> None:
        edition = get_edition(self.edition)
        object.__setattr__(self, "edition", edition)
        if self.models is None:
            object.__setattr__(self, "models", dict(edition.models))
        if self.custom_size_models is None:
            served = frozenset(m for m in edition.custom_size_models if m in self.models)
            object.__setattr__(self, "custom_size_models", served)
        else:
            object.__setattr__(self, "custom_size_models", frozenset(self.custom_size_models))

    def custom_sizes_for(self, model: str | None) -> CustomSizes | None:
        """The WIDTHxHEIGHT limits ``model`` takes under this profile; None: only the
        listed sizes."""
        if model is not None and model in self.custom_size_models:
            return self.edition.custom_sizes
        return None

    def family_of(self, model: str) -> tuple[bool, Family | None]:
        """Return (known, family) for a model name."""
        if model in self.models:
            return True, self.models[model]
        return False, None

    def models_of(self, family: Family) -> list[str]:
        """The model names this profile serves for ``family``, in declaration order."""
        return [name for name, fam in self.models.items() if fam == family]

    def offers(self, feature: str) -> bool:
        return feature in self.features

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str = "<mapping>", edition: str | None = None
    ) -> Profile:
        """Build a profile from parsed TOML (see docs/profiles.md for the format).

        ``edition``, when given, replaces the file's ``edition``."""
        edition_override = edition
        allowed = {
            "name",
            "models",
            "include_document_models",
            "default_model",
            "features",
            "strict",
            "auth",
            "known_failures",
            "edition",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ProfileError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        try:
            edition = get_edition(edition_override or data.get("edition", DEFAULT_EDITION.name))
        except EditionError as exc:
            raise ProfileError(f"{source}: {exc}") from None
        models: dict[str, Family | None] = {}
        custom: set[str] = set()
        if data.get("include_document_models", True):
            models.update(edition.models)
            custom.update(edition.custom_size_models)
        raw_models = data.get("models", {})
        if not isinstance(raw_models, Mapping):
            raise ProfileError(f"{source}: [models] must be a table of model name = family")
        for name, fam in raw_models.items():
            if fam == UNCONSTRAINED:
                models[str(name)] = None
            elif fam in FAMILIES:
                models[str(name)] = fam
            elif isinstance(fam, str) and fam in edition.models:
                # "behaves like" a model the edition lists: its family and its sizes.
                models[str(name)] = edition.models[fam]
                if fam in edition.custom_size_models:
                    custom.add(str(name))
            else:
                raise ProfileError(
                    f"{source}: model {name!r} has family {fam!r}; expected one of "
                    f"{[*FAMILIES, UNCONSTRAINED]} or a model of edition {edition.name!r} "
                    f"({', '.join(edition.models)})"
                )
        features = data.get("features", sorted(FEATURES))
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ProfileError(f"{source}: features must be a list of strings")
        bad = sorted(set(features) - set(FEATURES))
        if bad:
            raise ProfileError(f"{source}: unknown feature(s) {bad}; known: {sorted(FEATURES)}")
        known_failures = data.get("known_failures", {})
        if not isinstance(known_failures, Mapping) or not all(
            isinstance(v, str) for v in known_failures.values()
        ):
            raise ProfileError(f"{source}: [known_failures] must map rule ids to reason strings")
        default_model = data.get("default_model", DEFAULT_MODEL)
        if not isinstance(default_model, str):
            raise ProfileError(f"{source}: default_model must be a string")
        for key in ("strict",):
            if not isinstance(data.get(key, False), bool):
                raise ProfileError(f"{source}: {key} must be true or false")
        auth = data.get("auth")
        if auth is not None and not isinstance(auth, bool):
            raise ProfileError(f"{source}: auth must be true or false")
        name = data.get("name", Path(source).stem if source != "<mapping>" else "custom")
        return cls(
            name=str(name),
            models=models,
            default_model=default_model,
            features=frozenset(features),
            strict=bool(data.get("strict", False)),
            auth=auth,
            known_failures=dict(known_failures),
            edition=edition,
            custom_size_models=frozenset(n for n in custom if n in models),
        )

    @classmethod
    def from_toml(cls, path: str | Path, *, edition: str | None = None) -> Profile:
        """Load a profile from a TOML file; raises ProfileError with the reason.

        ``edition``, when given, replaces the file's ``edition``."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ProfileError(f"cannot read profile {p}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"profile {p} is not valid TOML: {exc}") from None
        return cls.from_mapping(data, source=str(p), edition=edition)


DEFAULT_PROFILE = Profile()
"""OpenAI's own behaviour, as the document describes it."""

_EDITION_PROFILES: dict[str, Profile] = {DEFAULT_EDITION.name: DEFAULT_PROFILE}


def edition_profile(edition: str | Edition) -> Profile:
    """OpenAI's own behaviour as ``edition`` describes it (one shared profile per edition);
    raises ProfileError for an unknown edition."""
    try:
        ed = get_edition(edition)
    except EditionError as exc:
        raise ProfileError(str(exc)) from None
    if ed.name not in _EDITION_PROFILES:
        _EDITION_PROFILES[ed.name] = Profile(edition=ed)
    return _EDITION_PROFILES[ed.name]


def load_profile(path: str | Path | None, edition: str | None = None) -> Profile:
    """The profile a command was given: the TOML file at ``path`` (None: OpenAI's own
    behaviour), judged by ``edition`` (None: the file's, else ``document``).

    Raises ProfileError with a one-line reason that names the file."""
    if path is None or str(path) == "":
        return profile_with_edition(DEFAULT_PROFILE, edition)
    return Profile.from_toml(path, edition=edition)


def profile_with_edition(profile: Profile | None, edition: str | Edition | None) -> Profile:
    """``profile`` (default: OpenAI's) judged by ``edition`` instead (None: unchanged).

    A profile built from the edition's defaults switches to the other edition's models;
    one with its own models keeps them and gains the edition's sizes and quotes."""
    base = profile or DEFAULT_PROFILE
    if edition is None:
        return base
    if base is DEFAULT_PROFILE or base in _EDITION_PROFILES.values():
        return edition_profile(edition)
    try:
        ed = get_edition(edition)
    except EditionError as exc:
        raise ProfileError(str(exc)) from None
    if ed is base.edition:
        return base
    own = {k: v for k, v in base.models.items() if k not in base.edition.models}
    custom = (base.custom_size_models - base.edition.custom_size_models) | ed.custom_size_models
    models = {**ed.models, **own}
    return replace(base, edition=ed, models=models, custom_size_models=custom)

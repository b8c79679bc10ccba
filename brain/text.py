"""A human text in the platform's two languages: one definition, so en and zh cannot drift."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "zh")


@dataclass(frozen=True, slots=True)
class Text:
    en: str
    zh: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

"""Message catalogues: how the English texts of API errors read in another language.

The code raises errors in English (tests and logs rely on those texts), and the error renderer
translates them on the way out. A catalogue maps English *templates* to translated ones;
`{name}` marks a value carried over unchanged (`{count}` a number). A validation message is
taken apart the way Rails builds it: the prefix, then one part per problem joined by ", ", each
part either a whole sentence or "<Attribute> <message>". Parts no catalogue knows stay English.

The English templates are listed here once; every locale module must translate all of them
(tests/i18n checks that, and that each translation keeps the template's placeholders).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

VALIDATION_FAILED = "Validation failed"

# Whole messages, and sentences that are one part of a validation message.
MESSAGES: tuple[str, ...] = (
    "Record not found",
    "This action is not allowed",
    "The access token is invalid",
    "This action is outside the authorized scopes",
    "This method requires an authenticated user",
    "Method not allowed",
    "Too many requests",
    "Request entity too large",
    "Internal server error",
    "Service unavailable",
    "Insufficient storage",
    "Bad request",
    "Gone",
    "Error occurred while parsing request parameters",
    "Registrations are closed on this server",
    "param is missing or the value is empty: {param}",
    "The post you are trying to reply to does not appear to exist.",
    "The post you are trying to quote does not appear to exist.",
    "`account_id` parameter is missing",
    # statuses
    "Text character limit of {count} exceeded",
    "Media attachments can't be more than {count}",
    "Media {ids} not found",
    "Query is too long (maximum is {count} characters)",
    "Parameters can't contain a null character",
    "A value is out of range or not valid here",
    "This server does not answer to that host name",
    "Cannot attach a video to a post that already contains images",
    "You have exceeded the limit of {count} scheduled posts for today",
    "You have exceeded the limit of {count} scheduled posts",
    "Media {ids} not found or already attached to another post",
    "Media could not be processed and cannot be attached",
    "Media processing is not complete; try again in a moment",
    "Media attributes refer to media not attached to this post",
    "Media attributes are invalid",
    "This post cannot be quoted",
    "Status can only pin your own posts",
    "Status cannot pin private mentions",
    "Status cannot pin more than {count} posts",
    "Status has no conversation",
    "Scheduled at The scheduled date must be in the future",
    "You have exceeded the limit of {count} scheduled statuses",
    # polls
    "Poll options must be a list",
    "Poll expires_in must be a number",
    "Poll must have at least {count} options",
    "Poll can't contain more than {count} items",
    "Poll options can't be longer than {count} characters",
    "Poll contains duplicate items",
    "Poll expiration too soon",
    "Poll expiration too far in the future",
    "The poll has already ended",
    "You need to pick at least one option",
    "You can only pick one option",
    "That option does not exist",
    "You have already voted on this poll",
    "You have already voted for this option",
    # accounts, lists, collections
    "Too many ids (maximum is {count})",
    "You have reached the maximum number of lists",
    "You have reached the maximum number of collections",
)

# What follows an attribute's name in "<Attribute> <message>".
ATTRIBUTE_MESSAGES: tuple[str, ...] = (
    "can't be blank",
    "is invalid",
    "is too long (maximum is {count} characters)",
    "is too short (minimum is {count} characters)",
    "is too long (maximum is {count} fields)",
    "is too long (maximum is {count} accounts)",
    "is too long (maximum is {count} domains)",
    "is already taken",
    "or e-mail is already taken",
    "has already been taken",
    "is reserved",
    "is not included in the list",
    "must be accepted",
    "must contain only letters, numbers, underscores and inner dots or dashes",
    "must be one of {choices}",
    "is not a supported language code",
    "must be a string",
    "is not a number",
    "must be smaller than {count} MB",
)

ATTRIBUTES: tuple[str, ...] = (
    "Text",
    "Visibility",
    "Spoiler text",
    "Language",
    "Quote approval policy",
    "Scheduled at",
    "Poll",
    "Focus",
    "Description",
    "Thumbnail",
    "File",
    "Username",
    "Email",
    "Password",
    "Agreement",
    "Locale",
    "Reason",
    "Display name",
    "Note",
    "Fields",
    "Avatar",
    "Header",
    "Avatar description",
    "Header description",
    "Source privacy",
    "Source language",
    "Source quote policy",
    "Attribution domains",
    "Role",
    "Title",
    "Replies policy",
    "Name",
    "Tag name",
    "Tag",
    "Account",
    "Collection items",
)

# Placeholders whose values may hold ", " (lists of choices or ids); others may not, so that a
# validation message splits into its parts unambiguously.
_LIST_PLACEHOLDERS = frozenset({"choices", "ids"})
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")


def placeholders(template: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", template))


def _pattern(template: str) -> str:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "count":
            return rf"(?P<{name}>\d+)"
        if name in _LIST_PLACEHOLDERS:
            return rf"(?P<{name}>.+)"
        return rf"(?P<{name}>[^,]+?)"

    return _PLACEHOLDER.sub(group, re.escape(template))


@dataclass(frozen=True)
class Catalogue:
    """One locale's translations of the templates above (English keys, translated values)."""

    validation_failed: str
    messages: Mapping[str, str]
    attribute_messages: Mapping[str, str]
    attributes: Mapping[str, str] = field(default_factory=dict)
    # How "<Attribute> <message>" reads: Japanese puts no space between the two.
    attribute_format: str = "{attribute} {message}"
    separator: str = ", "

    @cached_property
    def _messages(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(f"^{_pattern(k)}$"), v) for k, v in self.messages.items()]

    @cached_property
    def _attribute_messages(self) -> list[tuple[re.Pattern[str], str]]:
        return [
            (re.compile(f"^(?P<attribute>[^,]+?) {_pattern(k)}$"), v)
            for k, v in self.attribute_messages.items()
        ]

    @cached_property
    def _descriptions(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(f"^{_pattern(k)}$"), v) for k, v in self.attribute_messages.items()]

    def sentence(self, text: str) -> str | None:
        """`text` translated if it is a known message or "<Attribute> <message>"; else None."""
        for pattern, translated in self._messages:
            match = pattern.match(text)
            if match:
                return translated.format_map(match.groupdict())
        for pattern, translated in self._attribute_messages:
            match = pattern.match(text)
            if match:
                values = match.groupdict()
                attribute = values.pop("attribute")
                message = translated.format_map(values)
                return self.attribute_format.format(
                    attribute=self.attributes.get(attribute, attribute), message=message
                )
        return None

    def description(self, text: str) -> str | None:
        """A `details` description ("can't be blank") translated, or None."""
        for pattern, translated in self._descriptions:
            match = pattern.match(text)
            if match:
                return translated.format_map(match.groupdict())
        return None

    def validation_parts(self, text: str) -> str:
        """The problems after "Validation failed: ", each translated where known.

        Parts are tried longest first, so a part whose value holds ", " (a list of choices)
        is still recognised whole.
        """
        parts = text.split(", ")
        out: list[str] = []
        i = 0
        while i < len(parts):
            for j in range(len(parts), i, -1):
                translated = self.sentence(", ".join(parts[i:j]))
                if translated is not None:
                    out.append(translated)
                    i = j
                    break
            else:
                out.append(parts[i])
                i += 1
        return self.separator.join(out)

"""Request-body checks with Discord's limits and error shapes.

Each ``validate_*`` function adds field errors to a :class:`FormErrors`; the caller raises
``400 / 50035 Invalid Form Body`` if any were found, exactly like Discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .errors import FormErrors
from .models import MessageFlag

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
NONCE_MAX = 25
COLOR_MAX = 0xFFFFFF
ALLOWED_MENTION_TYPES = frozenset({"roles", "users", "everyone"})
STICKERS_MAX = 3

COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
COMMAND_CHOICE_NAME_MAX = 100
COMMAND_CHOICE_VALUE_MAX = 100
COMMAND_TOTAL_TEXT_MAX = 4000
#: Per scope (global, or one guild): CHAT_INPUT, USER, MESSAGE.
COMMANDS_PER_TYPE_MAX = {1: 100, 2: 15, 3: 15, 4: 1}
#: Python's Unicode ``\w`` is letters, digits and ``_``: close to Discord's
#: ``^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$``.
COMMAND_NAME_RE = re.compile(r"[-_'\w]{1,32}")

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10
OPTION_ATTACHMENT = 11

MESSAGE_CREATE_FLAGS = (
    MessageFlag.SUPPRESS_EMBEDS | MessageFlag.SUPPRESS_NOTIFICATIONS | MessageFlag.IS_COMPONENTS_V2
)
INTERACTION_MESSAGE_FLAGS = MESSAGE_CREATE_FLAGS | MessageFlag.EPHEMERAL

USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")
EVERYONE_RE = re.compile(r"@(?:everyone|here)")

Path = tuple[str | int, ...]


# --------------------------------------------------------------------------- primitives


def _check_str(
    errs: FormErrors,
    path: Path,
    value: Any,
    *,
    max_len: int,
    min_len: int = 0,
    required: bool = False,
    blank_is_empty: bool = False,
) -> None:
    if value is None:
        if required:
            errs.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not isinstance(value, str):
        errs.add(path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')
        return
    length = len(value.strip()) if blank_is_empty else len(value)
    if required and length == 0:
        errs.add(path, "BASE_TYPE_REQUIRED", "This field is required")
    elif length < min_len or len(value) > max_len:
        if min_len:
            msg = f"Must be between {min_len} and {max_len} in length."
            errs.add(path, "BASE_TYPE_BAD_LENGTH", msg)
        else:
            errs.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_len} or fewer in length.")


def _check_url(errs: FormErrors, path: Path, value: Any, *, allow_attachment: bool) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errs.add(path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')
        return
    if len(value) > 2048:
        errs.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length.")
        return
    parts = urlsplit(value)
    schemes = ("http", "https", "attachment") if allow_attachment else ("http", "https")
    if parts.scheme not in schemes:
        allowed = ", ".join(repr(s) for s in schemes)
        errs.add(
            path,
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{parts.scheme}" is not supported. Scheme must be one of ({allowed}).',
        )
    elif not parts.netloc:
        errs.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- messages


def validate_embed(errs: FormErrors, path: Path, embed: Any) -> int:
    """Check one embed; return its counted text length (for the 6000 total)."""
    if not isinstance(embed, dict):
        errs.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return 0
    total = 0
    for key, limit in (("title", EMBED_TITLE_MAX), ("description", EMBED_DESCRIPTION_MAX)):
        value = embed.get(key)
        _check_str(errs, (*path, key), value, max_len=limit)
        if isinstance(value, str):
            total += len(value)
    _check_url(errs, (*path, "url"), embed.get("url"), allow_attachment=False)
    timestamp = embed.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errs.add(
                (*path, "timestamp"),
                "DATE_TYPE_PARSE",
                f"Could not parse {timestamp}. Should be ISO8601.",
            )
    color = embed.get("color")
    if color is not None:
        if not _is_int(color):
            errs.add((*path, "color"), "NUMBER_TYPE_COERCE", f'Value "{color}" is not int.')
        elif color < 0:
            msg = "int value should be greater than or equal to 0."
            errs.add((*path, "color"), "NUMBER_TYPE_MIN", msg)
        elif color > COLOR_MAX:
            msg = f"int value should be less than or equal to {COLOR_MAX}."
            errs.add((*path, "color"), "NUMBER_TYPE_MAX", msg)

    footer = embed.get("footer")
    if footer is not None:
        if not isinstance(footer, dict):
            errs.add((*path, "footer"), "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
        else:
            text = footer.get("text")
            _check_str(
                errs, (*path, "footer", "text"), text, max_len=EMBED_FOOTER_MAX, required=True
            )
            if isinstance(text, str):
                total += len(text)
            _check_url(
                errs, (*path, "footer", "icon_url"), footer.get("icon_url"), allow_attachment=True
            )
    author = embed.get("author")
    if author is not None:
        if not isinstance(author, dict):
            errs.add((*path, "author"), "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
        else:
            name = author.get("name")
            _check_str(
                errs, (*path, "author", "name"), name, max_len=EMBED_AUTHOR_MAX, required=True
            )
            if isinstance(name, str):
                total += len(name)
            _check_url(errs, (*path, "author", "url"), author.get("url"), allow_attachment=False)
            _check_url(
                errs, (*path, "author", "icon_url"), author.get("icon_url"), allow_attachment=True
            )
    for key in ("image", "thumbnail"):
        media = embed.get(key)
        if media is None:
            continue
        if not isinstance(media, dict) or media.get("url") is None:
            errs.add((*path, key, "url"), "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _check_url(errs, (*path, key, "url"), media.get("url"), allow_attachment=True)

    fields = embed.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            errs.add((*path, "fields"), "BASE_TYPE_ARRAY", "Must be an array.")
        else:
            if len(fields) > EMBED_FIELDS_MAX:
                errs.add(
                    (*path, "fields"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {EMBED_FIELDS_MAX} or fewer in length.",
                )
            for i, fld in enumerate(fields):
                fpath = (*path, "fields", i)
                if not isinstance(fld, dict):
                    errs.add(fpath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
                    continue
                name, value = fld.get("name"), fld.get("value")
                # Discord strips whitespace: " " is as empty as "" (hence the "\u200b" idiom).
                _check_str(
                    errs,
                    (*fpath, "name"),
                    name,
                    max_len=EMBED_FIELD_NAME_MAX,
                    required=True,
                    blank_is_empty=True,
                )
                _check_str(
                    errs,
                    (*fpath, "value"),
                    value,
                    max_len=EMBED_FIELD_VALUE_MAX,
                    required=True,
                    blank_is_empty=True,
                )
                if "inline" in fld and not isinstance(fld["inline"], bool):
                    errs.add(
                        (*fpath, "inline"), "BASE_TYPE_BOOLEAN", "Must be either true or false."
                    )
                total += len(name) if isinstance(name, str) else 0
                total += len(value) if isinstance(value, str) else 0
    return total


def validate_allowed_mentions(errs: FormErrors, value: Any) -> None:
    path: Path = ("allowed_mentions",)
    if value is None:
        return
    if not isinstance(value, dict):
        errs.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    parse = value.get("parse", [])
    if not isinstance(parse, list):
        errs.add((*path, "parse"), "BASE_TYPE_ARRAY", "Must be an array.")
        parse = []
    for i, kind in enumerate(parse):
        if kind not in ALLOWED_MENTION_TYPES:
            errs.add(
                (*path, "parse", i),
                "BASE_TYPE_CHOICES",
                "Value must be one of {'everyone', 'roles', 'users'}.",
            )
    for kind in ("users", "roles"):
        ids = value.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list):
            errs.add((*path, kind), "BASE_TYPE_ARRAY", "Must be an array.")
            continue
        if len(ids) > 100:
            errs.add((*path, kind), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        for i, snowflake in enumerate(ids):
            if not str(snowflake).isdigit():
                errs.add(
                    (*path, kind, i),
                    "NUMBER_TYPE_COERCE",
                    f'Value "{snowflake}" is not snowflake.',
                )
        if kind in parse and ids:
            errs.add(
                path,
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
    replied = value.get("replied_user")
    if replied is not None and not isinstance(replied, bool):
        errs.add((*path, "replied_user"), "BASE_TYPE_BOOLEAN", "Must be either true or false.")


def validate_message(
    errs: FormErrors, payload: dict[str, Any], *, allowed_flags: int, partial: bool = False
) -> None:
    """Check a message create/edit body (``partial`` for edits: only the keys present)."""
    if "content" in payload:
        _check_str(errs, ("content",), payload["content"], max_len=CONTENT_MAX)
    embeds = payload.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            errs.add(("embeds",), "BASE_TYPE_ARRAY", "Must be an array.")
        else:
            if len(embeds) > EMBEDS_MAX:
                msg = f"Must be {EMBEDS_MAX} or fewer in length."
                errs.add(("embeds",), "BASE_TYPE_MAX_LENGTH", msg)
            total = sum(validate_embed(errs, ("embeds", i), e) for i, e in enumerate(embeds))
            if total > EMBED_TOTAL_MAX:
                errs.add(
                    ("embeds",),
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
                )
    validate_allowed_mentions(errs, payload.get("allowed_mentions"))
    if not partial:
        nonce = payload.get("nonce")
        if nonce is not None:
            if isinstance(nonce, str):
                if len(nonce) > NONCE_MAX:
                    msg = f"Must be {NONCE_MAX} or fewer in length."
                    errs.add(("nonce",), "BASE_TYPE_MAX_LENGTH", msg)
            elif not _is_int(nonce):
                errs.add(("nonce",), "BASE_TYPE_STRING", "Must be a string or an integer.")
        if "enforce_nonce" in payload and not isinstance(payload["enforce_nonce"], bool):
            msg = "Must be either true or false."
            errs.add(("enforce_nonce",), "BASE_TYPE_BOOLEAN", msg)
        if "tts" in payload and not isinstance(payload["tts"], bool):
            errs.add(("tts",), "BASE_TYPE_BOOLEAN", "Must be either true or false.")
        stickers = payload.get("sticker_ids")
        if isinstance(stickers, list) and len(stickers) > STICKERS_MAX:
            msg = f"Must be {STICKERS_MAX} or fewer in length."
            errs.add(("sticker_ids",), "BASE_TYPE_MAX_LENGTH", msg)
    flags = payload.get("flags")
    if flags is not None:
        if not _is_int(flags):
            errs.add(("flags",), "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
        elif flags & ~allowed_flags:
            errs.add(("flags",), "MESSAGE_FLAGS_INVALID", f"Invalid message flags: {flags}")
    components = payload.get("components")
    if components is not None and not isinstance(components, list):
        errs.add(("components",), "BASE_TYPE_ARRAY", "Must be an array.")


def message_is_empty(payload: dict[str, Any], *, file_count: int = 0) -> bool:
    """Would Discord answer 50006 "Cannot send an empty message"?"""
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("sticker_ids")
        or payload.get("components")
        or payload.get("poll")
        or payload.get("attachments")
        or file_count
    )


@dataclass(frozen=True)
class Pings:
    """Who a message notifies."""

    everyone: bool
    roles: frozenset[int]
    users: frozenset[int]


def compute_pings(
    content: str, allowed_mentions: dict[str, Any] | None, replied_author: int | None
) -> Pings:
    """Apply ``allowed_mentions`` to the mentions found in ``content``.

    Without ``allowed_mentions`` Discord parses everything in the content and pings the
    author of a replied-to message. Permission checks (Mention Everyone, role
    mentionability) are deliberately ignored: this is the worst case.
    """
    if allowed_mentions is None:
        parse: set[str] = set(ALLOWED_MENTION_TYPES)
        allow_users: set[int] = set()
        allow_roles: set[int] = set()
        replied_user = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        allow_users = {int(u) for u in allowed_mentions.get("users") or []}
        allow_roles = {int(r) for r in allowed_mentions.get("roles") or []}
        replied_user = bool(allowed_mentions.get("replied_user", False))
    in_users = {int(u) for u in USER_MENTION_RE.findall(content)}
    in_roles = {int(r) for r in ROLE_MENTION_RE.findall(content)}
    users = in_users if "users" in parse else in_users & allow_users
    roles = in_roles if "roles" in parse else in_roles & allow_roles
    if replied_author is not None and replied_user:
        users = users | {replied_author}
    everyone = "everyone" in parse and bool(EVERYONE_RE.search(content))
    return Pings(everyone=everyone, roles=frozenset(roles), users=frozenset(users))


# --------------------------------------------------------------------------- commands


def _check_command_name(errs: FormErrors, path: Path, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str):
        errs.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not 1 <= len(name) <= COMMAND_NAME_MAX:
        msg = f"Must be between 1 and {COMMAND_NAME_MAX} in length."
        errs.add(path, "BASE_TYPE_BAD_LENGTH", msg)
        return
    if chat_input and (not COMMAND_NAME_RE.fullmatch(name) or name != name.lower()):
        errs.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _option_text(option: dict[str, Any]) -> int:
    total = len(str(option.get("name", ""))) + len(str(option.get("description", "")))
    for choice in option.get("choices") or []:
        if isinstance(choice, dict):
            total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    for sub in option.get("options") or []:
        if isinstance(sub, dict):
            total += _option_text(sub)
    return total


def _check_choices(errs: FormErrors, path: Path, choices: Any, option_type: int) -> None:
    if not isinstance(choices, list):
        errs.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(choices) > COMMAND_CHOICES_MAX:
        msg = f"Must be {COMMAND_CHOICES_MAX} or fewer in length."
        errs.add(path, "BASE_TYPE_MAX_LENGTH", msg)
    for i, choice in enumerate(choices):
        cpath = (*path, i)
        if not isinstance(choice, dict):
            errs.add(cpath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
            continue
        _check_str(
            errs,
            (*cpath, "name"),
            choice.get("name"),
            min_len=1,
            max_len=COMMAND_CHOICE_NAME_MAX,
            required=True,
        )
        value = choice.get("value")
        if option_type == OPTION_STRING:
            _check_str(
                errs,
                (*cpath, "value"),
                value,
                min_len=1,
                max_len=COMMAND_CHOICE_VALUE_MAX,
                required=True,
            )
        elif option_type == OPTION_INTEGER and not _is_int(value):
            errs.add((*cpath, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        elif option_type == OPTION_NUMBER and not _is_number(value):
            errs.add((*cpath, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not a number.')


def _check_options(errs: FormErrors, path: Path, options: Any, *, depth: int) -> None:
    if not isinstance(options, list):
        errs.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(options) > COMMAND_OPTIONS_MAX:
        msg = f"Must be {COMMAND_OPTIONS_MAX} or fewer in length."
        errs.add(path, "BASE_TYPE_MAX_LENGTH", msg)
    types = [o.get("type") for o in options if isinstance(o, dict)]
    subs = [t for t in types if t in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)]
    if subs and len(subs) != len(types):
        errs.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all "
            "other types",
        )
    seen_names: set[str] = set()
    seen_optional = False
    for i, option in enumerate(options):
        opath = (*path, i)
        if not isinstance(option, dict):
            errs.add(opath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
            continue
        kind = option.get("type")
        if not isinstance(kind, int) or not OPTION_SUB_COMMAND <= kind <= OPTION_ATTACHMENT:
            errs.add((*opath, "type"), "BASE_TYPE_CHOICES", "Value must be one of 1..11.")
            continue
        name = option.get("name")
        _check_command_name(errs, (*opath, "name"), name, chat_input=True)
        if isinstance(name, str):
            if name in seen_names:
                errs.add(
                    (*opath, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            seen_names.add(name)
        _check_str(
            errs,
            (*opath, "description"),
            option.get("description"),
            min_len=1,
            max_len=COMMAND_DESCRIPTION_MAX,
            required=True,
        )
        if kind == OPTION_SUB_COMMAND_GROUP:
            if depth > 0:
                errs.add(
                    (*opath, "type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups can only be nested at the top level",
                )
            inner = option.get("options") or []
            if any(isinstance(o, dict) and o.get("type") != OPTION_SUB_COMMAND for o in inner):
                errs.add(
                    (*opath, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                )
            _check_options(errs, (*opath, "options"), inner, depth=depth + 1)
            continue
        if kind == OPTION_SUB_COMMAND:
            if depth > 1:
                errs.add(
                    (*opath, "type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands can be nested at most two levels deep",
                )
            inner = option.get("options") or []
            if any(
                isinstance(o, dict)
                and o.get("type") in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)
                for o in inner
            ):
                errs.add(
                    (*opath, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands may not contain sub-commands",
                )
            _check_options(errs, (*opath, "options"), inner, depth=depth + 1)
            continue
        required = bool(option.get("required", False))
        if required and seen_optional:
            errs.add(
                (*opath, "required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        seen_optional = seen_optional or not required
        if "choices" in option and option["choices"] is not None:
            if kind not in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER):
                errs.add(
                    (*opath, "choices"),
                    "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                    "Choices are only allowed on string, integer and number options",
                )
            else:
                _check_choices(errs, (*opath, "choices"), option["choices"], kind)
            if option.get("autocomplete") and option["choices"]:
                errs.add(
                    (*opath, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set with choices",
                )
        for key in ("min_value", "max_value"):
            if key in option and option[key] is not None:
                if kind not in (OPTION_INTEGER, OPTION_NUMBER):
                    errs.add((*opath, key), "BASE_TYPE_INVALID", f"{key} is not allowed here")
                elif not _is_number(option[key]):
                    errs.add((*opath, key), "NUMBER_TYPE_COERCE", "Must be a number.")
        for key, low, high in (("min_length", 0, 6000), ("max_length", 1, 6000)):
            if key in option and option[key] is not None:
                value = option[key]
                if kind != OPTION_STRING:
                    errs.add((*opath, key), "BASE_TYPE_INVALID", f"{key} is not allowed here")
                elif not _is_int(value) or not low <= value <= high:
                    errs.add(
                        (*opath, key),
                        "NUMBER_TYPE_MAX",
                        f"int value should be between {low} and {high}.",
                    )
        if "channel_types" in option and option["channel_types"] is not None:
            if kind != OPTION_CHANNEL:
                errs.add((*opath, "channel_types"), "BASE_TYPE_INVALID", "Not allowed here")
            elif not all(_is_int(t) for t in option["channel_types"]):
                errs.add((*opath, "channel_types"), "NUMBER_TYPE_COERCE", "Must be ints.")


def validate_command(errs: FormErrors, path: Path, command: Any) -> None:
    """Check one application command object."""
    if not isinstance(command, dict):
        errs.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    kind = command.get("type", 1)
    if kind not in COMMANDS_PER_TYPE_MAX:
        errs.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
        return
    chat_input = kind == 1
    _check_command_name(errs, (*path, "name"), command.get("name"), chat_input=chat_input)
    description = command.get("description", "")
    if chat_input:
        _check_str(
            errs,
            (*path, "description"),
            description,
            min_len=1,
            max_len=COMMAND_DESCRIPTION_MAX,
            required=True,
        )
    elif description:
        errs.add(
            (*path, "description"),
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION_INVALID",
            "Context menu commands cannot have description",
        )
    options = command.get("options")
    if options:
        if not chat_input:
            errs.add(
                (*path, "options"),
                "APPLICATION_COMMAND_OPTIONS_INVALID",
                "Context menu commands cannot have options",
            )
        else:
            _check_options(errs, (*path, "options"), options, depth=0)
    total = len(str(command.get("name", ""))) + len(str(description or ""))
    total += sum(_option_text(o) for o in options or [] if isinstance(o, dict))
    if total > COMMAND_TOTAL_TEXT_MAX:
        errs.add(
            path,
            "APPLICATION_COMMAND_TOO_LARGE",
            f"Command exceeds maximum size ({COMMAND_TOTAL_TEXT_MAX})",
        )
    perms = command.get("default_member_permissions")
    if perms is not None and not str(perms).isdigit():
        errs.add(
            (*path, "default_member_permissions"),
            "NUMBER_TYPE_COERCE",
            f'Value "{perms}" is not int.',
        )


def validate_command_list(errs: FormErrors, commands: Any) -> None:
    """Check a bulk-overwrite body: each command, unique names, per-type limits."""
    if not isinstance(commands, list):
        errs.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    seen: set[tuple[Any, Any]] = set()
    for i, command in enumerate(commands):
        validate_command(errs, (i,), command)
        if isinstance(command, dict):
            key = (command.get("name"), command.get("type", 1))
            if key in seen:
                errs.add(
                    (i, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)


def count_by_type(commands: Iterable[dict[str, Any]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for command in commands:
        kind = command.get("type", 1)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# --------------------------------------------------------------------------- interaction callbacks


def validate_autocomplete_result(errs: FormErrors, data: Any, option_type: int) -> None:
    """Check the ``data`` of an APPLICATION_COMMAND_AUTOCOMPLETE_RESULT (type 8) callback."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        errs.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        return
    _check_choices(errs, ("data", "choices"), data["choices"], option_type)


def validate_modal(errs: FormErrors, data: Any) -> None:
    """Check the ``data`` of a MODAL (type 9) callback."""
    if not isinstance(data, dict):
        errs.add(("data",), "BASE_TYPE_REQUIRED", "This field is required")
        return
    _check_str(
        errs, ("data", "custom_id"), data.get("custom_id"), min_len=1, max_len=100, required=True
    )
    _check_str(errs, ("data", "title"), data.get("title"), min_len=1, max_len=45, required=True)
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        errs.add(
            ("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )

"""The one error-code enum: Tencent's codes wherever Tencent has one.

A code travels as `ErrorCode` and `ErrorInfo` on REST replies, as `code`/`message`
on WebSocket error frames, and as `error_code` in gRPC outcomes.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    OK = 0

    # Group service (group_open_http_svc) and group sends.
    GROUP_INTERNAL = 10002
    GROUP_INVALID_COMMAND = 10003
    GROUP_INVALID_PARAM = 10004
    GROUP_NO_PERMISSION = 10007
    GROUP_NOT_FOUND = 10010
    GROUP_FULL = 10014
    GROUP_INVALID_ID = 10015
    GROUP_CALLBACK_REJECTED = 10016
    GROUP_SENDER_MUTED = 10017
    GROUP_ACCOUNT_NOT_FOUND = 10019
    GROUP_ID_IN_USE = 10021
    GROUP_RATE_LIMITED = 10023
    GROUP_JOINED_LIMIT = 10037
    GROUP_MEMBER_LIMIT = 10038
    # The read receipt of a group message does not exist (it asked for none, or expired).
    GROUP_RECEIPT_NOT_FOUND = 10062

    # C2C messaging (openim).
    MSG_INVALID_REQUEST = 20001
    MSG_USERSIG_INVALID = 20002
    MSG_ACCOUNT_INVALID = 20003
    MSG_INTERNAL = 20005
    MSG_CALLBACK_REJECTED = 20006
    MSG_BLOCKED_BY_PEER = 20007
    MSG_NOT_FRIENDS = 20009
    MSG_SENDER_MUTED = 20012
    MSG_RECALL_TIMEOUT = 20016

    # REST v4 gateway (common to every command).
    REST_HTTP_PARSE = 60002
    REST_JSON_PARSE = 60003
    REST_ACCOUNT_OR_SIG = 60004
    REST_SDKAPPID_INVALID = 60006
    REST_RATE_LIMITED = 60007
    REST_TIMEOUT = 60008
    REST_RESOURCE = 60009
    REST_ADMIN_REQUIRED = 60010
    REST_SDKAPPID_REQUIRED = 60012
    REST_IP_NOT_ALLOWED = 60021

    # UserSig and accounts (im_open_login_svc).
    SIG_EXPIRED = 70001
    SIG_EMPTY = 70002
    SIG_UNPARSABLE = 70003
    SIG_WRONG_KEY = 70009
    SIG_IDENTIFIER_MISMATCH = 70013
    SIG_SDKAPPID_MISMATCH = 70014
    SIG_SDKAPPID_UNKNOWN = 70020
    ACCOUNT_NOT_IMPORTED = 70107
    ACCOUNT_LIMIT = 70398
    ACCOUNT_INVALID_PARAM = 70402
    ACCOUNT_ADMIN_REQUIRED = 70403
    ACCOUNT_INTERNAL = 70500

    # Content and throttling.
    DIRTY_WORDS = 80001
    BODY_TOO_LARGE = 80002

    # openim sendmsg parameter errors.
    OPENIM_JSON = 90001
    OPENIM_MSG_BODY = 90002
    OPENIM_NO_TO_ACCOUNT = 90003
    OPENIM_NO_MSG_RANDOM = 90005
    OPENIM_ADMIN_REQUIRED = 90009
    OPENIM_JSON_FIELDS = 90010
    OPENIM_TO_ACCOUNT_UNKNOWN = 90012
    OPENIM_INTERNAL = 90994
    OPENIM_BODY_TOO_LARGE = 93000

    # openim message management (recall, modify, batch, import).
    MSG_NOT_FOUND = 20022
    MSG_ALREADY_RECALLED = 20023
    OPENIM_NO_FROM_ACCOUNT = 90008
    OPENIM_BATCH_TOO_LARGE = 90011
    OPENIM_BAD_MSG_KEY = 90054
    OPENIM_SERVICE_INTERNAL = 91000

    # Relationship chain (sns): friends, blocklist, friend lists.
    SNS_INVALID_PARAM = 30001
    SNS_ACCOUNT_NOT_FOUND = 30003
    SNS_FRIEND_LIMIT = 30010
    SNS_GROUP_LIMIT = 30011
    SNS_BLACKLIST_LIMIT = 30013
    SNS_PEER_FRIEND_LIMIT = 30014
    SNS_IN_SELF_BLACKLIST = 30515
    SNS_ALLOW_TYPE_DENY_ANY = 30516
    SNS_IN_PEER_BLACKLIST = 30525
    SNS_ALLOW_TYPE_NEED_CONFIRM = 30539
    SNS_DELETE_NON_FRIEND = 31704
    SNS_GROUP_ADD_NOT_FRIEND = 32216

    # all_member_push attributes and tags (push service codes).
    PUSH_ACCOUNTS_LIMIT = 90018
    PUSH_TAG_TOO_LONG = 90020
    PUSH_TAG_COUNT = 90032
    PUSH_ATTR_INVALID = 90033

    # Group management (group_open_http_svc).
    GROUP_TOO_MANY_ACCOUNTS = 10005

    # Accounts, profiles (profile), presence and global no-speaking (openconfigsvr).
    PROFILE_INVALID_PARAM = 40001
    PROFILE_ACCOUNT_MISSING = 40002
    PROFILE_ACCOUNT_NOT_FOUND = 40003
    # A custom profile field that does not grant the caller this read or write.
    PROFILE_NO_PERMISSION = 40004
    PROFILE_TAG_NOT_FOUND = 40009
    PROFILE_VALUE_TOO_LONG = 40601
    PROFILE_VALUE_ERROR = 40605
    PROFILE_VALUE_TYPE = 40610
    ACCOUNT_INTERNAL_TIMEOUT = 70169
    NOSPEAKING_JSON = 130001
    NOSPEAKING_NO_ACCOUNT = 130004
    NOSPEAKING_ACCOUNT_INVALID = 130005
    NOSPEAKING_NO_TIME = 130008

    # Group message recall results (group_msg_recall RetCode).
    GROUP_MSG_NOT_FOUND = 10030
    GROUP_MSG_ALREADY_RECALLED = 10031

    # all_member_push im_push (push service codes).
    PUSH_TAGS_OVERLAP = 90022
    PUSH_LIFETIME_INVALID = 90026
    PUSH_ATTRS_WITH_TAGS = 90039
    PUSH_TAG_EMPTY = 90040
    PUSH_BODY_TOO_LARGE = 90056

    # Group custom attributes (set/modify/delete_group_attr).
    GROUP_ATTR_KEY_TOO_LONG = 10045
    GROUP_ATTR_VALUE_TOO_LONG = 10046
    GROUP_ATTR_TOO_MANY_KEYS = 10047
    GROUP_ATTR_TOTAL_TOO_LARGE = 10048
    GROUP_ATTR_KEY_NOT_FOUND = 10050

    # Tidings' own: the app's before-send callback timed out or failed and the app chose
    # fail-closed (SPEC §5). Unlike 20006/10016 (the app server said no), a retry may pass.
    CALLBACK_UNAVAILABLE = 4503

    # Tidings' own WebSocket protocol errors (no Tencent equivalent).
    WS_BAD_FRAME = 4400
    WS_UNKNOWN_OP = 4404
    WS_NOT_LOGGED_IN = 4401
    WS_FRAME_TOO_LARGE = 4413
    # A client sends faster than the app's per-sender rate (SPEC §4 throttle; 2 msg/s by
    # default). Group sends answer Tencent's 10023 instead.
    SENDER_THROTTLED = 4429
    # A connection sends frames faster than the gateway takes from one client
    # (TIDINGS_WS_MAX_FRAMES_PER_S, with a burst); it is then disconnected.
    WS_FRAME_RATE = 4430
    # Kicked by a newer login (Tencent's 6208 semantics).
    KICKED_OFFLINE = 6208

    # Follow relations (follow): the From_Account follows as many users as it may.
    FOLLOW_FOLLOWING_LIMIT = 32100

    # Conversation groups and marks (recentcontact *_contact_group, mark_contact).
    CONV_ACCOUNT_NOT_FOUND = 50001
    CONV_INVALID_PARAM = 50002
    # More than 100 conversations grouped or marked in one request.
    CONV_MARK_REQ_COUNT_LIMIT = 51006
    # A group conversation's group does not exist (or was dismissed).
    CONV_MARK_OPERATE_FAILED = 51007
    # Over 1000 grouped, or 1000 marked, conversations for one user.
    CONV_MARK_TOTAL_COUNT_LIMIT = 51008
    CONV_GROUP_NOT_FOUND = 51009
    CONV_GROUP_COUNT_LIMIT = 51010
    CONV_GROUP_NAME_TOO_LONG = 51011

    # Message extensions (openim_msg_ext_http_svc), per key: the key's Seq moved on since the
    # writer saw it (Tencent's ERR_SVR_MSG_EXTENSION_CONFLICT), or a deleted key has no value.
    MSG_EXTENSION_CONFLICT = 23001
    MSG_EXTENSION_NOT_EXIST = 23004

    # Robots (openim_robot_http_svc): Tencent's "illegal request", e.g. the app's robots are at
    # their limit.
    ROBOT_REQUEST_REFUSED = 10008

    # Community topics (million_group_open_http_svc): the group does not support topics (not a
    # Community created with SupportTopic 1), and destroy_topic's per-topic "already deleted".
    GROUP_TOPICS_UNSUPPORTED = 11000
    TOPIC_ALREADY_DESTROYED = 110003

    # A group's owner may not quit it (Tencent's 10009); it transfers the group first.
    GROUP_OWNER_CANNOT_QUIT = 10009

    # User status query and subscription while the app's console switch is off (Tencent's
    # 72001, "user status is not enabled").
    USER_STATUS_DISABLED = 72001

    # openim sends and imports: a switch missing or not an integer (Tencent's own codes).
    OPENIM_SYNC_FROM_OLD_SYSTEM = 90030
    OPENIM_SYNC_OTHER_MACHINE = 90031
    OPENIM_MSG_LIFETIME_TYPE = 90044

    @property
    def default_info(self) -> str:
        return _INFO.get(self, self.name.lower().replace("_", " "))


_INFO: dict[ErrorCode, str] = {
    ErrorCode.OK: "",
    ErrorCode.REST_JSON_PARSE: "json parse error",
    ErrorCode.REST_HTTP_PARSE: "http parse error: the url needs sdkappid, identifier and usersig",
    ErrorCode.REST_RATE_LIMITED: "rest api call frequency exceeds the limit",
    ErrorCode.REST_ADMIN_REQUIRED: "this request requires app administrator permission",
    ErrorCode.REST_IP_NOT_ALLOWED: "the caller's ip is not in the app's whitelist",
    ErrorCode.REST_TIMEOUT: "service timeout, please retry",
    ErrorCode.REST_RESOURCE: "unknown service or command",
    ErrorCode.SIG_EXPIRED: "usersig expired",
    ErrorCode.SIG_EMPTY: "usersig is empty",
    ErrorCode.SIG_UNPARSABLE: "usersig cannot be parsed",
    ErrorCode.SIG_WRONG_KEY: "usersig was signed with another key",
    ErrorCode.SIG_IDENTIFIER_MISMATCH: "usersig identifier does not match the request",
    ErrorCode.SIG_SDKAPPID_MISMATCH: "usersig sdkappid does not match the request",
    ErrorCode.SIG_SDKAPPID_UNKNOWN: "sdkappid does not exist",
    ErrorCode.ACCOUNT_NOT_IMPORTED: "account not imported",
    ErrorCode.MSG_ACCOUNT_INVALID: "sender or recipient does not exist",
    ErrorCode.MSG_CALLBACK_REJECTED: "rejected by the before-send callback",
    ErrorCode.GROUP_CALLBACK_REJECTED: "rejected by the before-send callback",
    ErrorCode.DIRTY_WORDS: "the message contains sensitive words",
    ErrorCode.BODY_TOO_LARGE: "message body exceeds 12 KB",
    ErrorCode.OPENIM_BODY_TOO_LARGE: "message body exceeds 12 KB",
    ErrorCode.WS_BAD_FRAME: "malformed frame",
    ErrorCode.WS_UNKNOWN_OP: "unknown op",
    ErrorCode.WS_NOT_LOGGED_IN: "log in first",
    ErrorCode.WS_FRAME_TOO_LARGE: "frame too large",
    ErrorCode.WS_FRAME_RATE: "too many frames a second",
    ErrorCode.KICKED_OFFLINE: "kicked offline by another login",
}


class TidingsError(Exception):
    """A refusal with a code that reaches the caller as-is."""

    def __init__(self, code: ErrorCode | int, info: str | None = None) -> None:
        # An int that is not one of ours: an app server's own code in Tencent's pass-through
        # ranges of before-callbacks, which reaches the sender as-is.
        self.code = code
        if info is None:
            info = code.default_info if isinstance(code, ErrorCode) else ""
        self.info = info
        super().__init__(f"{int(code)}: {self.info}")

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from hyperagent.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("name", "version", "capabilities", "max_concurrency", "running_task_ids", "cost", "pid")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    capabilities: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskType]
    max_concurrency: int
    running_task_ids: _containers.RepeatedScalarFieldContainer[str]
    cost: float
    pid: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[_common_pb2.TaskType, _Mapping]]] = ..., max_concurrency: _Optional[int] = ..., running_task_ids: _Optional[_Iterable[str]] = ..., cost: _Optional[float] = ..., pid: _Optional[int] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("agent_id", "session_token", "heartbeat_interval_ms", "stop_task_ids", "max_log_line_bytes", "max_message_bytes", "max_log_batch_lines", "log_columns")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    STOP_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_LOG_LINE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_LOG_BATCH_LINES_FIELD_NUMBER: _ClassVar[int]
    LOG_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    session_token: str
    heartbeat_interval_ms: int
    stop_task_ids: _containers.RepeatedScalarFieldContainer[str]
    max_log_line_bytes: int
    max_message_bytes: int
    max_log_batch_lines: int
    log_columns: bool
    def __init__(self, agent_id: _Optional[str] = ..., session_token: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., stop_task_ids: _Optional[_Iterable[str]] = ..., max_log_line_bytes: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_log_batch_lines: _Optional[int] = ..., log_columns: _Optional[bool] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("session_token", "load", "running_task_ids")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    load: float
    running_task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_token: _Optional[str] = ..., load: _Optional[float] = ..., running_task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("stop_task_ids",)
    STOP_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    stop_task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stop_task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkRequest(_message.Message):
    __slots__ = ("session_token", "beat")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BEAT_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    beat: Beat
    def __init__(self, session_token: _Optional[str] = ..., beat: _Optional[_Union[Beat, _Mapping]] = ...) -> None: ...

class Beat(_message.Message):
    __slots__ = ("seq", "load", "running_task_ids")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    load: float
    running_task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seq: _Optional[int] = ..., load: _Optional[float] = ..., running_task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkItem(_message.Message):
    __slots__ = ("start", "stop", "beat", "message")
    START_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    BEAT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    start: StartTask
    stop: StopTask
    beat: BeatAnswer
    message: AgentMessage
    def __init__(self, start: _Optional[_Union[StartTask, _Mapping]] = ..., stop: _Optional[_Union[StopTask, _Mapping]] = ..., beat: _Optional[_Union[BeatAnswer, _Mapping]] = ..., message: _Optional[_Union[AgentMessage, _Mapping]] = ...) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ("id", "kind", "body_json", "idempotency_key", "task_id", "delivery")
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    body_json: str
    idempotency_key: str
    task_id: str
    delivery: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., body_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., task_id: _Optional[str] = ..., delivery: _Optional[int] = ..., **kwargs) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("session_token", "task_id", "capability_token", "to_agent", "to_task", "to_role", "kind", "body_json", "idempotency_key", "about_task")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    TO_TASK_FIELD_NUMBER: _ClassVar[int]
    TO_ROLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ABOUT_TASK_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    task_id: str
    capability_token: str
    to_agent: str
    to_task: str
    to_role: str
    kind: str
    body_json: str
    idempotency_key: str
    about_task: str
    def __init__(self, session_token: _Optional[str] = ..., task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., to_agent: _Optional[str] = ..., to_task: _Optional[str] = ..., to_role: _Optional[str] = ..., kind: _Optional[str] = ..., body_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., about_task: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message_id", "to_agent", "created")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    to_agent: str
    created: bool
    def __init__(self, message_id: _Optional[str] = ..., to_agent: _Optional[str] = ..., created: _Optional[bool] = ...) -> None: ...

class AckMessageRequest(_message.Message):
    __slots__ = ("session_token", "message_id")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    message_id: str
    def __init__(self, session_token: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class AckMessageResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HandOffRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "task_type", "payload_json", "note")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    task_type: str
    payload_json: str
    note: str
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., task_type: _Optional[str] = ..., payload_json: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ReportModelCallRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "call")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    call: _common_pb2.ModelCall
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., call: _Optional[_Union[_common_pb2.ModelCall, _Mapping]] = ...) -> None: ...

class ReportModelCallResponse(_message.Message):
    __slots__ = ("usage",)
    USAGE_FIELD_NUMBER: _ClassVar[int]
    usage: _common_pb2.ModelUsage
    def __init__(self, usage: _Optional[_Union[_common_pb2.ModelUsage, _Mapping]] = ...) -> None: ...

class AskPersonRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "question", "choices")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    question: str
    choices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., question: _Optional[str] = ..., choices: _Optional[_Iterable[str]] = ...) -> None: ...

class AskPersonResponse(_message.Message):
    __slots__ = ("answered", "answer", "reason")
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    answered: bool
    answer: str
    reason: str
    def __init__(self, answered: _Optional[bool] = ..., answer: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class HandOffResponse(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class BeatAnswer(_message.Message):
    __slots__ = ("seq", "stop_task_ids")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STOP_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    stop_task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seq: _Optional[int] = ..., stop_task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StartTask(_message.Message):
    __slots__ = ("task_id", "task_type", "payload_json", "workspace", "capability_token", "deadline", "attempt")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    task_type: str
    payload_json: str
    workspace: str
    capability_token: str
    deadline: _timestamp_pb2.Timestamp
    attempt: int
    def __init__(self, task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., payload_json: _Optional[str] = ..., workspace: _Optional[str] = ..., capability_token: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class StopTask(_message.Message):
    __slots__ = ("task_id", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AnswerTaskRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "accepted", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    accepted: bool
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., accepted: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class AnswerTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PushLogsRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "lines", "columns")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.LogLine]
    columns: LogColumns
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_common_pb2.LogLine, _Mapping]]] = ..., columns: _Optional[_Union[LogColumns, _Mapping]] = ...) -> None: ...

class LogColumns(_message.Message):
    __slots__ = ("first_seq", "time_unix_nanos", "levels", "messages", "field_lines", "field_keys", "field_values")
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_NANOS_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FIELD_LINES_FIELD_NUMBER: _ClassVar[int]
    FIELD_KEYS_FIELD_NUMBER: _ClassVar[int]
    FIELD_VALUES_FIELD_NUMBER: _ClassVar[int]
    first_seq: int
    time_unix_nanos: _containers.RepeatedScalarFieldContainer[int]
    levels: bytes
    messages: _containers.RepeatedScalarFieldContainer[str]
    field_lines: _containers.RepeatedScalarFieldContainer[int]
    field_keys: _containers.RepeatedScalarFieldContainer[str]
    field_values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, first_seq: _Optional[int] = ..., time_unix_nanos: _Optional[_Iterable[int]] = ..., levels: _Optional[bytes] = ..., messages: _Optional[_Iterable[str]] = ..., field_lines: _Optional[_Iterable[int]] = ..., field_keys: _Optional[_Iterable[str]] = ..., field_values: _Optional[_Iterable[str]] = ...) -> None: ...

class PushLogsResponse(_message.Message):
    __slots__ = ("stored_seq",)
    STORED_SEQ_FIELD_NUMBER: _ClassVar[int]
    stored_seq: int
    def __init__(self, stored_seq: _Optional[int] = ...) -> None: ...

class ReportProgressRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "progress")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    progress: _common_pb2.Progress
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., progress: _Optional[_Union[_common_pb2.Progress, _Mapping]] = ...) -> None: ...

class ReportProgressResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FinishTaskRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "result")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    result: _common_pb2.TaskResult
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., result: _Optional[_Union[_common_pb2.TaskResult, _Mapping]] = ...) -> None: ...

class FinishTaskResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.TaskState
    def __init__(self, state: _Optional[_Union[_common_pb2.TaskState, str]] = ...) -> None: ...

class RequestConsentRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "kind", "target", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    kind: str
    target: str
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., kind: _Optional[str] = ..., target: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RequestConsentResponse(_message.Message):
    __slots__ = ("granted", "consent_id", "answered_by", "reason")
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    granted: bool
    consent_id: str
    answered_by: str
    reason: str
    def __init__(self, granted: _Optional[bool] = ..., consent_id: _Optional[str] = ..., answered_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PrepareDestructiveRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "description", "paths")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    description: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., description: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ...) -> None: ...

class PrepareDestructiveResponse(_message.Message):
    __slots__ = ("action_id", "files", "bytes")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    files: int
    bytes: int
    def __init__(self, action_id: _Optional[str] = ..., files: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class GetSecretRequest(_message.Message):
    __slots__ = ("task_id", "capability_token", "name")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    capability_token: str
    name: str
    def __init__(self, task_id: _Optional[str] = ..., capability_token: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetSecretResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

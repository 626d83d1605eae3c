import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from hyperagent.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_MODE_UNSPECIFIED: _ClassVar[ConversationMode]
    CONVERSATION_MODE_PREVIEW: _ClassVar[ConversationMode]
    CONVERSATION_MODE_AUTO: _ClassVar[ConversationMode]

class PlanState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_STATE_UNSPECIFIED: _ClassVar[PlanState]
    PLAN_STATE_PROPOSED: _ClassVar[PlanState]
    PLAN_STATE_RUNNING: _ClassVar[PlanState]
    PLAN_STATE_SUCCEEDED: _ClassVar[PlanState]
    PLAN_STATE_FAILED: _ClassVar[PlanState]
    PLAN_STATE_CANCELED: _ClassVar[PlanState]
    PLAN_STATE_REJECTED: _ClassVar[PlanState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_WAITING: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_SUCCEEDED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_SKIPPED: _ClassVar[StepState]
    STEP_STATE_CANCELED: _ClassVar[StepState]

class PolicyDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_DECISION_UNSPECIFIED: _ClassVar[PolicyDecision]
    POLICY_DECISION_ALLOW: _ClassVar[PolicyDecision]
    POLICY_DECISION_DENY: _ClassVar[PolicyDecision]

class ConsentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATUS_UNSPECIFIED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_PENDING: _ClassVar[ConsentStatus]
    CONSENT_STATUS_GRANTED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_DENIED: _ClassVar[ConsentStatus]

class ConsentAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_ANSWER_UNSPECIFIED: _ClassVar[ConsentAnswer]
    CONSENT_ANSWER_ONCE: _ClassVar[ConsentAnswer]
    CONSENT_ANSWER_TASK: _ClassVar[ConsentAnswer]
    CONSENT_ANSWER_AGENT: _ClassVar[ConsentAnswer]
    CONSENT_ANSWER_ALWAYS: _ClassVar[ConsentAnswer]
    CONSENT_ANSWER_DENY: _ClassVar[ConsentAnswer]

class QuestionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUESTION_STATUS_UNSPECIFIED: _ClassVar[QuestionStatus]
    QUESTION_STATUS_PENDING: _ClassVar[QuestionStatus]
    QUESTION_STATUS_ANSWERED: _ClassVar[QuestionStatus]
    QUESTION_STATUS_UNANSWERED: _ClassVar[QuestionStatus]

class TemplateStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMPLATE_STATUS_UNSPECIFIED: _ClassVar[TemplateStatus]
    TEMPLATE_STATUS_OK: _ClassVar[TemplateStatus]
    TEMPLATE_STATUS_BROKEN: _ClassVar[TemplateStatus]
CONVERSATION_MODE_UNSPECIFIED: ConversationMode
CONVERSATION_MODE_PREVIEW: ConversationMode
CONVERSATION_MODE_AUTO: ConversationMode
PLAN_STATE_UNSPECIFIED: PlanState
PLAN_STATE_PROPOSED: PlanState
PLAN_STATE_RUNNING: PlanState
PLAN_STATE_SUCCEEDED: PlanState
PLAN_STATE_FAILED: PlanState
PLAN_STATE_CANCELED: PlanState
PLAN_STATE_REJECTED: PlanState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_WAITING: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_SUCCEEDED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_SKIPPED: StepState
STEP_STATE_CANCELED: StepState
POLICY_DECISION_UNSPECIFIED: PolicyDecision
POLICY_DECISION_ALLOW: PolicyDecision
POLICY_DECISION_DENY: PolicyDecision
CONSENT_STATUS_UNSPECIFIED: ConsentStatus
CONSENT_STATUS_PENDING: ConsentStatus
CONSENT_STATUS_GRANTED: ConsentStatus
CONSENT_STATUS_DENIED: ConsentStatus
CONSENT_ANSWER_UNSPECIFIED: ConsentAnswer
CONSENT_ANSWER_ONCE: ConsentAnswer
CONSENT_ANSWER_TASK: ConsentAnswer
CONSENT_ANSWER_AGENT: ConsentAnswer
CONSENT_ANSWER_ALWAYS: ConsentAnswer
CONSENT_ANSWER_DENY: ConsentAnswer
QUESTION_STATUS_UNSPECIFIED: QuestionStatus
QUESTION_STATUS_PENDING: QuestionStatus
QUESTION_STATUS_ANSWERED: QuestionStatus
QUESTION_STATUS_UNANSWERED: QuestionStatus
TEMPLATE_STATUS_UNSPECIFIED: TemplateStatus
TEMPLATE_STATUS_OK: TemplateStatus
TEMPLATE_STATUS_BROKEN: TemplateStatus

class ConversationTurn(_message.Message):
    __slots__ = ("time", "request", "reply", "plan_id", "router", "model_task_id", "model_cost", "choices", "routed_as")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_COST_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    ROUTED_AS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    request: str
    reply: str
    plan_id: str
    router: str
    model_task_id: str
    model_cost: float
    choices: _containers.RepeatedScalarFieldContainer[str]
    routed_as: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request: _Optional[str] = ..., reply: _Optional[str] = ..., plan_id: _Optional[str] = ..., router: _Optional[str] = ..., model_task_id: _Optional[str] = ..., model_cost: _Optional[float] = ..., choices: _Optional[_Iterable[str]] = ..., routed_as: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("id", "title", "mode", "turns", "folder", "money_budget", "token_budget", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    MONEY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    mode: ConversationMode
    turns: _containers.RepeatedCompositeFieldContainer[ConversationTurn]
    folder: str
    money_budget: float
    token_budget: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., mode: _Optional[_Union[ConversationMode, str]] = ..., turns: _Optional[_Iterable[_Union[ConversationTurn, _Mapping]]] = ..., folder: _Optional[str] = ..., money_budget: _Optional[float] = ..., token_budget: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConversationTotals(_message.Message):
    __slots__ = ("plans", "tasks", "money", "tokens")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    MONEY_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    plans: int
    tasks: int
    money: float
    tokens: int
    def __init__(self, plans: _Optional[int] = ..., tasks: _Optional[int] = ..., money: _Optional[float] = ..., tokens: _Optional[int] = ...) -> None: ...

class ConversationView(_message.Message):
    __slots__ = ("conversation", "plans", "totals")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    PLANS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    conversation: Conversation
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    totals: ConversationTotals
    def __init__(self, conversation: _Optional[_Union[Conversation, _Mapping]] = ..., plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ..., totals: _Optional[_Union[ConversationTotals, _Mapping]] = ...) -> None: ...

class StartConversationRequest(_message.Message):
    __slots__ = ("title", "mode", "money_budget", "token_budget")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MONEY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    title: str
    mode: ConversationMode
    money_budget: float
    token_budget: int
    def __init__(self, title: _Optional[str] = ..., mode: _Optional[_Union[ConversationMode, str]] = ..., money_budget: _Optional[float] = ..., token_budget: _Optional[int] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("limit", "page_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "turn_counts", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    TURN_COUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    turn_counts: _containers.RepeatedScalarFieldContainer[int]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., turn_counts: _Optional[_Iterable[int]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "title", "mode", "money_budget", "token_budget")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MONEY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    title: str
    mode: ConversationMode
    money_budget: float
    token_budget: int
    def __init__(self, conversation_id: _Optional[str] = ..., title: _Optional[str] = ..., mode: _Optional[_Union[ConversationMode, str]] = ..., money_budget: _Optional[float] = ..., token_budget: _Optional[int] = ...) -> None: ...

class ExportConversationResponse(_message.Message):
    __slots__ = ("markdown",)
    MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    markdown: str
    def __init__(self, markdown: _Optional[str] = ...) -> None: ...

class DeleteConversationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ManagerStatus(_message.Message):
    __slots__ = ("version", "pid", "started_at", "paused", "agents_online", "agents_known", "tasks_queued", "tasks_running", "tasks_awaiting_consent", "workspace_root", "workspace_root_source", "editor")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    AGENTS_ONLINE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    TASKS_QUEUED_FIELD_NUMBER: _ClassVar[int]
    TASKS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    TASKS_AWAITING_CONSENT_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ROOT_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ROOT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    EDITOR_FIELD_NUMBER: _ClassVar[int]
    version: str
    pid: int
    started_at: _timestamp_pb2.Timestamp
    paused: bool
    agents_online: int
    agents_known: int
    tasks_queued: int
    tasks_running: int
    tasks_awaiting_consent: int
    workspace_root: str
    workspace_root_source: str
    editor: str
    def __init__(self, version: _Optional[str] = ..., pid: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paused: _Optional[bool] = ..., agents_online: _Optional[int] = ..., agents_known: _Optional[int] = ..., tasks_queued: _Optional[int] = ..., tasks_running: _Optional[int] = ..., tasks_awaiting_consent: _Optional[int] = ..., workspace_root: _Optional[str] = ..., workspace_root_source: _Optional[str] = ..., editor: _Optional[str] = ...) -> None: ...

class SetPausedRequest(_message.Message):
    __slots__ = ("paused",)
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    paused: bool
    def __init__(self, paused: _Optional[bool] = ...) -> None: ...

class SetWorkspaceRootRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class OpenPathRequest(_message.Message):
    __slots__ = ("task_id", "path", "file", "line", "column")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    path: str
    file: str
    line: int
    column: int
    def __init__(self, task_id: _Optional[str] = ..., path: _Optional[str] = ..., file: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class PlanStep(_message.Message):
    __slots__ = ("number", "task_type", "payload_json", "workspace", "after", "confidence", "why")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    number: int
    task_type: str
    payload_json: str
    workspace: str
    after: _containers.RepeatedScalarFieldContainer[int]
    confidence: float
    why: str
    def __init__(self, number: _Optional[int] = ..., task_type: _Optional[str] = ..., payload_json: _Optional[str] = ..., workspace: _Optional[str] = ..., after: _Optional[_Iterable[int]] = ..., confidence: _Optional[float] = ..., why: _Optional[str] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("steps", "question", "choices", "refusal", "can_do", "router", "micros", "fallback", "model_task_id")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    CAN_DO_FIELD_NUMBER: _ClassVar[int]
    ROUTER_FIELD_NUMBER: _ClassVar[int]
    MICROS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    MODEL_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[PlanStep]
    question: str
    choices: _containers.RepeatedScalarFieldContainer[str]
    refusal: str
    can_do: _containers.RepeatedScalarFieldContainer[str]
    router: str
    micros: int
    fallback: str
    model_task_id: str
    def __init__(self, steps: _Optional[_Iterable[_Union[PlanStep, _Mapping]]] = ..., question: _Optional[str] = ..., choices: _Optional[_Iterable[str]] = ..., refusal: _Optional[str] = ..., can_do: _Optional[_Iterable[str]] = ..., router: _Optional[str] = ..., micros: _Optional[int] = ..., fallback: _Optional[str] = ..., model_task_id: _Optional[str] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("text", "budget_secs", "money_budget", "conversation_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SECS_FIELD_NUMBER: _ClassVar[int]
    MONEY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    budget_secs: int
    money_budget: float
    conversation_id: str
    def __init__(self, text: _Optional[str] = ..., budget_secs: _Optional[int] = ..., money_budget: _Optional[float] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ("plan", "question", "choices", "refusal", "can_do", "router", "micros", "fallback", "model_task_id", "conversation")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    CAN_DO_FIELD_NUMBER: _ClassVar[int]
    ROUTER_FIELD_NUMBER: _ClassVar[int]
    MICROS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    MODEL_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    question: str
    choices: _containers.RepeatedScalarFieldContainer[str]
    refusal: str
    can_do: _containers.RepeatedScalarFieldContainer[str]
    router: str
    micros: int
    fallback: str
    model_task_id: str
    conversation: Conversation
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ..., question: _Optional[str] = ..., choices: _Optional[_Iterable[str]] = ..., refusal: _Optional[str] = ..., can_do: _Optional[_Iterable[str]] = ..., router: _Optional[str] = ..., micros: _Optional[int] = ..., fallback: _Optional[str] = ..., model_task_id: _Optional[str] = ..., conversation: _Optional[_Union[Conversation, _Mapping]] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("agent_id", "reputation", "price", "load", "score", "online")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    reputation: float
    price: float
    load: float
    score: float
    online: bool
    def __init__(self, agent_id: _Optional[str] = ..., reputation: _Optional[float] = ..., price: _Optional[float] = ..., load: _Optional[float] = ..., score: _Optional[float] = ..., online: _Optional[bool] = ...) -> None: ...

class StepDecision(_message.Message):
    __slots__ = ("attempt", "candidates", "chosen", "why", "time")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    chosen: str
    why: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, attempt: _Optional[int] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., chosen: _Optional[str] = ..., why: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlannedStep(_message.Message):
    __slots__ = ("step", "state", "reason", "task_ids", "agent_id", "decisions", "touches", "asks", "candidates", "summary", "problem")
    STEP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    TOUCHES_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    step: PlanStep
    state: StepState
    reason: str
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    agent_id: str
    decisions: _containers.RepeatedCompositeFieldContainer[StepDecision]
    touches: str
    asks: _containers.RepeatedScalarFieldContainer[str]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    summary: str
    problem: str
    def __init__(self, step: _Optional[_Union[PlanStep, _Mapping]] = ..., state: _Optional[_Union[StepState, str]] = ..., reason: _Optional[str] = ..., task_ids: _Optional[_Iterable[str]] = ..., agent_id: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[StepDecision, _Mapping]]] = ..., touches: _Optional[str] = ..., asks: _Optional[_Iterable[str]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., summary: _Optional[str] = ..., problem: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("id", "text", "state", "steps", "summary", "reason", "budget_secs", "created_at", "updated_at", "deadline", "router", "summary_by", "money_budget", "money_spent")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SECS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    ROUTER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_BY_FIELD_NUMBER: _ClassVar[int]
    MONEY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    MONEY_SPENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    state: PlanState
    steps: _containers.RepeatedCompositeFieldContainer[PlannedStep]
    summary: str
    reason: str
    budget_secs: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    router: str
    summary_by: str
    money_budget: float
    money_spent: float
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., state: _Optional[_Union[PlanState, str]] = ..., steps: _Optional[_Iterable[_Union[PlannedStep, _Mapping]]] = ..., summary: _Optional[str] = ..., reason: _Optional[str] = ..., budget_secs: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., router: _Optional[str] = ..., summary_by: _Optional[str] = ..., money_budget: _Optional[float] = ..., money_spent: _Optional[float] = ...) -> None: ...

class StepEdit(_message.Message):
    __slots__ = ("number", "remove", "payload_json", "workspace")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    number: int
    remove: bool
    payload_json: str
    workspace: str
    def __init__(self, number: _Optional[int] = ..., remove: _Optional[bool] = ..., payload_json: _Optional[str] = ..., workspace: _Optional[str] = ...) -> None: ...

class AcceptPlanRequest(_message.Message):
    __slots__ = ("plan_id", "edits")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    EDITS_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    edits: _containers.RepeatedCompositeFieldContainer[StepEdit]
    def __init__(self, plan_id: _Optional[str] = ..., edits: _Optional[_Iterable[_Union[StepEdit, _Mapping]]] = ...) -> None: ...

class RejectPlanRequest(_message.Message):
    __slots__ = ("plan_id", "reason")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    reason: str
    def __init__(self, plan_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelPlanRequest(_message.Message):
    __slots__ = ("plan_id", "reason")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    reason: str
    def __init__(self, plan_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ("plan_id",)
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    def __init__(self, plan_id: _Optional[str] = ...) -> None: ...

class ListPlansRequest(_message.Message):
    __slots__ = ("limit", "page_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPlansResponse(_message.Message):
    __slots__ = ("plans", "next_page_token")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    next_page_token: str
    def __init__(self, plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("state", "agent", "limit", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: str
    agent: str
    limit: int
    page_token: str
    def __init__(self, state: _Optional[str] = ..., agent: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[AgentMessageRecord]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[AgentMessageRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AgentMessageRecord(_message.Message):
    __slots__ = ("id", "to_agent", "kind", "body_json", "idempotency_key", "about_task", "state", "deliveries", "reason", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ABOUT_TASK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    to_agent: str
    kind: str
    body_json: str
    idempotency_key: str
    about_task: str
    state: str
    deliveries: int
    reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., to_agent: _Optional[str] = ..., kind: _Optional[str] = ..., body_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., about_task: _Optional[str] = ..., state: _Optional[str] = ..., deliveries: _Optional[int] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class OpenPathResponse(_message.Message):
    __slots__ = ("path", "opener", "warnings", "cannot_open", "refused")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPENER_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    CANNOT_OPEN_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    path: str
    opener: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    cannot_open: str
    refused: bool
    def __init__(self, path: _Optional[str] = ..., opener: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ..., cannot_open: _Optional[str] = ..., refused: _Optional[bool] = ...) -> None: ...

class SubmitTaskRequest(_message.Message):
    __slots__ = ("task_type", "payload_json", "idempotency_key", "pin_agent", "timeout_secs", "max_attempts", "workspace")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PIN_AGENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    payload_json: str
    idempotency_key: str
    pin_agent: str
    timeout_secs: int
    max_attempts: int
    workspace: str
    def __init__(self, task_type: _Optional[str] = ..., payload_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., pin_agent: _Optional[str] = ..., timeout_secs: _Optional[int] = ..., max_attempts: _Optional[int] = ..., workspace: _Optional[str] = ...) -> None: ...

class SubmitTaskResponse(_message.Message):
    __slots__ = ("task", "created")
    TASK_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    task: Task
    created: bool
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("number", "agent_id", "started_at", "ended_at", "error")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    number: int
    agent_id: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    error: str
    def __init__(self, number: _Optional[int] = ..., agent_id: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "task_type", "payload_json", "state", "agent_id", "pin_agent", "idempotency_key", "attempts", "max_attempts", "timeout_secs", "progress", "result", "status_reason", "workspace", "created_at", "updated_at", "not_before", "cancel_requested", "handed_off", "usage")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PIN_AGENT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_type: str
    payload_json: str
    state: _common_pb2.TaskState
    agent_id: str
    pin_agent: str
    idempotency_key: str
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    max_attempts: int
    timeout_secs: int
    progress: _common_pb2.Progress
    result: _common_pb2.TaskResult
    status_reason: str
    workspace: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    cancel_requested: bool
    handed_off: HandedOff
    usage: _common_pb2.ModelUsage
    def __init__(self, id: _Optional[str] = ..., task_type: _Optional[str] = ..., payload_json: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.TaskState, str]] = ..., agent_id: _Optional[str] = ..., pin_agent: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., max_attempts: _Optional[int] = ..., timeout_secs: _Optional[int] = ..., progress: _Optional[_Union[_common_pb2.Progress, _Mapping]] = ..., result: _Optional[_Union[_common_pb2.TaskResult, _Mapping]] = ..., status_reason: _Optional[str] = ..., workspace: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_requested: _Optional[bool] = ..., handed_off: _Optional[_Union[HandedOff, _Mapping]] = ..., usage: _Optional[_Union[_common_pb2.ModelUsage, _Mapping]] = ...) -> None: ...

class HandedOff(_message.Message):
    __slots__ = ("from_task", "chain", "note")
    FROM_TASK_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    from_task: str
    chain: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, from_task: _Optional[str] = ..., chain: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("states", "task_type", "limit", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[_common_pb2.TaskState]
    task_type: str
    limit: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[_common_pb2.TaskState, str]]] = ..., task_type: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("task_id", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "version", "status", "capabilities", "max_concurrency", "running_task_ids", "load", "last_heartbeat", "registered_at", "restarts", "tasks_succeeded", "tasks_failed", "cost", "pid", "supervised", "status_reason", "confined")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    TASKS_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    TASKS_FAILED_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    SUPERVISED_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    CONFINED_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: str
    status: _common_pb2.AgentStatus
    capabilities: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskType]
    max_concurrency: int
    running_task_ids: _containers.RepeatedScalarFieldContainer[str]
    load: float
    last_heartbeat: _timestamp_pb2.Timestamp
    registered_at: _timestamp_pb2.Timestamp
    restarts: int
    tasks_succeeded: int
    tasks_failed: int
    cost: float
    pid: int
    supervised: bool
    status_reason: str
    confined: bool
    def __init__(self, id: _Optional[str] = ..., version: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.AgentStatus, str]] = ..., capabilities: _Optional[_Iterable[_Union[_common_pb2.TaskType, _Mapping]]] = ..., max_concurrency: _Optional[int] = ..., running_task_ids: _Optional[_Iterable[str]] = ..., load: _Optional[float] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., restarts: _Optional[int] = ..., tasks_succeeded: _Optional[int] = ..., tasks_failed: _Optional[int] = ..., cost: _Optional[float] = ..., pid: _Optional[int] = ..., supervised: _Optional[bool] = ..., status_reason: _Optional[str] = ..., confined: _Optional[bool] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ...) -> None: ...

class TaskTypeInfo(_message.Message):
    __slots__ = ("task_type", "agent_ids", "available")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    task_type: _common_pb2.TaskType
    agent_ids: _containers.RepeatedScalarFieldContainer[str]
    available: bool
    def __init__(self, task_type: _Optional[_Union[_common_pb2.TaskType, _Mapping]] = ..., agent_ids: _Optional[_Iterable[str]] = ..., available: _Optional[bool] = ...) -> None: ...

class ListTaskTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTaskTypesResponse(_message.Message):
    __slots__ = ("task_types",)
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    task_types: _containers.RepeatedCompositeFieldContainer[TaskTypeInfo]
    def __init__(self, task_types: _Optional[_Iterable[_Union[TaskTypeInfo, _Mapping]]] = ...) -> None: ...

class GetLogsRequest(_message.Message):
    __slots__ = ("task_id", "after_seq", "limit")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    after_seq: int
    limit: int
    def __init__(self, task_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class GetLogsResponse(_message.Message):
    __slots__ = ("lines", "complete")
    LINES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.LogLine]
    complete: bool
    def __init__(self, lines: _Optional[_Iterable[_Union[_common_pb2.LogLine, _Mapping]]] = ..., complete: _Optional[bool] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("after_seq", "task_id", "exclude_logs")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_LOGS_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    task_id: str
    exclude_logs: bool
    def __init__(self, after_seq: _Optional[int] = ..., task_id: _Optional[str] = ..., exclude_logs: _Optional[bool] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "time", "agent_status", "task_state", "task_progress", "task_log", "agent_output", "consent", "templates_changed", "scheduling", "plan", "task_drift", "question", "model_call", "conversation")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    AGENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TASK_LOG_FIELD_NUMBER: _ClassVar[int]
    AGENT_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULING_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    TASK_DRIFT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    seq: int
    time: _timestamp_pb2.Timestamp
    agent_status: AgentStatusChanged
    task_state: TaskStateChanged
    task_progress: TaskProgress
    task_log: TaskLog
    agent_output: AgentOutput
    consent: Consent
    templates_changed: TemplatesChanged
    scheduling: SchedulingChanged
    plan: PlanChanged
    task_drift: TaskDrift
    question: Question
    model_call: TaskModelCall
    conversation: ConversationChanged
    def __init__(self, seq: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_status: _Optional[_Union[AgentStatusChanged, _Mapping]] = ..., task_state: _Optional[_Union[TaskStateChanged, _Mapping]] = ..., task_progress: _Optional[_Union[TaskProgress, _Mapping]] = ..., task_log: _Optional[_Union[TaskLog, _Mapping]] = ..., agent_output: _Optional[_Union[AgentOutput, _Mapping]] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ..., templates_changed: _Optional[_Union[TemplatesChanged, _Mapping]] = ..., scheduling: _Optional[_Union[SchedulingChanged, _Mapping]] = ..., plan: _Optional[_Union[PlanChanged, _Mapping]] = ..., task_drift: _Optional[_Union[TaskDrift, _Mapping]] = ..., question: _Optional[_Union[Question, _Mapping]] = ..., model_call: _Optional[_Union[TaskModelCall, _Mapping]] = ..., conversation: _Optional[_Union[ConversationChanged, _Mapping]] = ...) -> None: ...

class ConversationChanged(_message.Message):
    __slots__ = ("conversation_id", "title", "turns")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    title: str
    turns: int
    def __init__(self, conversation_id: _Optional[str] = ..., title: _Optional[str] = ..., turns: _Optional[int] = ...) -> None: ...

class TaskModelCall(_message.Message):
    __slots__ = ("task_id", "call", "usage")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    call: _common_pb2.ModelCall
    usage: _common_pb2.ModelUsage
    def __init__(self, task_id: _Optional[str] = ..., call: _Optional[_Union[_common_pb2.ModelCall, _Mapping]] = ..., usage: _Optional[_Union[_common_pb2.ModelUsage, _Mapping]] = ...) -> None: ...

class TaskDrift(_message.Message):
    __slots__ = ("task_id", "drift", "evidence", "action")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    drift: str
    evidence: str
    action: str
    def __init__(self, task_id: _Optional[str] = ..., drift: _Optional[str] = ..., evidence: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class PlanChanged(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class AgentStatusChanged(_message.Message):
    __slots__ = ("agent_id", "status", "reason")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    status: _common_pb2.AgentStatus
    reason: str
    def __init__(self, agent_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.AgentStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class TaskStateChanged(_message.Message):
    __slots__ = ("task_id", "to", "reason", "agent_id", "attempt", "task_type")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    to: _common_pb2.TaskState
    reason: str
    agent_id: str
    attempt: int
    task_type: str
    def __init__(self, task_id: _Optional[str] = ..., to: _Optional[_Union[_common_pb2.TaskState, str]] = ..., reason: _Optional[str] = ..., agent_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_type: _Optional[str] = ..., **kwargs) -> None: ...

class TaskProgress(_message.Message):
    __slots__ = ("task_id", "progress")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    progress: _common_pb2.Progress
    def __init__(self, task_id: _Optional[str] = ..., progress: _Optional[_Union[_common_pb2.Progress, _Mapping]] = ...) -> None: ...

class TaskLog(_message.Message):
    __slots__ = ("task_id", "line")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    line: _common_pb2.LogLine
    def __init__(self, task_id: _Optional[str] = ..., line: _Optional[_Union[_common_pb2.LogLine, _Mapping]] = ...) -> None: ...

class AgentOutput(_message.Message):
    __slots__ = ("agent_id", "stream", "line")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    stream: str
    line: str
    def __init__(self, agent_id: _Optional[str] = ..., stream: _Optional[str] = ..., line: _Optional[str] = ...) -> None: ...

class TemplatesChanged(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class SchedulingChanged(_message.Message):
    __slots__ = ("paused", "actor")
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    paused: bool
    actor: str
    def __init__(self, paused: _Optional[bool] = ..., actor: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "time", "actor", "action", "task_id", "detail_json", "prev_hash", "hash")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    id: int
    time: _timestamp_pb2.Timestamp
    actor: str
    action: str
    task_id: str
    detail_json: str
    prev_hash: str
    hash: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., task_id: _Optional[str] = ..., detail_json: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("task_id", "after_id", "limit", "before_id", "newest_first", "actor", "action")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    after_id: int
    limit: int
    before_id: int
    newest_first: bool
    actor: str
    action: str
    def __init__(self, task_id: _Optional[str] = ..., after_id: _Optional[int] = ..., limit: _Optional[int] = ..., before_id: _Optional[int] = ..., newest_first: _Optional[bool] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class VerifyAuditRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditResponse(_message.Message):
    __slots__ = ("intact", "entries_checked", "problems")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    entries_checked: int
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intact: _Optional[bool] = ..., entries_checked: _Optional[int] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...

class PolicyRule(_message.Message):
    __slots__ = ("id", "agent", "kind", "target", "decision", "origin", "created_at", "revoked_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    agent: str
    kind: str
    target: str
    decision: PolicyDecision
    origin: str
    created_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., agent: _Optional[str] = ..., kind: _Optional[str] = ..., target: _Optional[str] = ..., decision: _Optional[_Union[PolicyDecision, str]] = ..., origin: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddPolicyRuleRequest(_message.Message):
    __slots__ = ("agent", "kind", "target", "decision")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    agent: str
    kind: str
    target: str
    decision: PolicyDecision
    def __init__(self, agent: _Optional[str] = ..., kind: _Optional[str] = ..., target: _Optional[str] = ..., decision: _Optional[_Union[PolicyDecision, str]] = ...) -> None: ...

class ListPolicyRulesRequest(_message.Message):
    __slots__ = ("include_revoked",)
    INCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    include_revoked: bool
    def __init__(self, include_revoked: _Optional[bool] = ...) -> None: ...

class ListPolicyRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[PolicyRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[PolicyRule, _Mapping]]] = ...) -> None: ...

class RevokePolicyRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("id", "task_id", "agent_id", "kind", "target", "reason", "created_at", "expires_at", "status", "answer", "answered_by", "answer_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_BY_FIELD_NUMBER: _ClassVar[int]
    ANSWER_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    agent_id: str
    kind: str
    target: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    status: ConsentStatus
    answer: ConsentAnswer
    answered_by: str
    answer_reason: str
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., kind: _Optional[str] = ..., target: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ConsentStatus, str]] = ..., answer: _Optional[_Union[ConsentAnswer, str]] = ..., answered_by: _Optional[str] = ..., answer_reason: _Optional[str] = ...) -> None: ...

class Question(_message.Message):
    __slots__ = ("id", "task_id", "agent_id", "text", "choices", "created_at", "expires_at", "status", "answer", "answered_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    agent_id: str
    text: str
    choices: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    status: QuestionStatus
    answer: str
    answered_by: str
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., text: _Optional[str] = ..., choices: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[QuestionStatus, str]] = ..., answer: _Optional[str] = ..., answered_by: _Optional[str] = ...) -> None: ...

class ListQuestionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListQuestionsResponse(_message.Message):
    __slots__ = ("questions",)
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    questions: _containers.RepeatedCompositeFieldContainer[Question]
    def __init__(self, questions: _Optional[_Iterable[_Union[Question, _Mapping]]] = ...) -> None: ...

class AnswerQuestionRequest(_message.Message):
    __slots__ = ("id", "answer")
    ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    id: str
    answer: str
    def __init__(self, id: _Optional[str] = ..., answer: _Optional[str] = ...) -> None: ...

class ListConsentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConsentsResponse(_message.Message):
    __slots__ = ("consents",)
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    def __init__(self, consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ...) -> None: ...

class AnswerConsentRequest(_message.Message):
    __slots__ = ("id", "answer")
    ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    id: str
    answer: ConsentAnswer
    def __init__(self, id: _Optional[str] = ..., answer: _Optional[_Union[ConsentAnswer, str]] = ...) -> None: ...

class ActionPath(_message.Message):
    __slots__ = ("path", "existed")
    PATH_FIELD_NUMBER: _ClassVar[int]
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    path: str
    existed: bool
    def __init__(self, path: _Optional[str] = ..., existed: _Optional[bool] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("id", "task_id", "agent_id", "description", "paths", "files", "bytes", "created_at", "rolled_back_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    agent_id: str
    description: str
    paths: _containers.RepeatedCompositeFieldContainer[ActionPath]
    files: int
    bytes: int
    created_at: _timestamp_pb2.Timestamp
    rolled_back_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., description: _Optional[str] = ..., paths: _Optional[_Iterable[_Union[ActionPath, _Mapping]]] = ..., files: _Optional[int] = ..., bytes: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rolled_back_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListActionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListActionsResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ...) -> None: ...

class RollbackActionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class SetSecretRequest(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SetSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SecretInfo(_message.Message):
    __slots__ = ("name", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSecretsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSecretsResponse(_message.Message):
    __slots__ = ("secrets", "store")
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[SecretInfo]
    store: str
    def __init__(self, secrets: _Optional[_Iterable[_Union[SecretInfo, _Mapping]]] = ..., store: _Optional[str] = ...) -> None: ...

class DeleteSecretRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Template(_message.Message):
    __slots__ = ("name", "dir", "description", "status", "error", "warnings", "answers_schema_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    dir: str
    description: str
    status: TemplateStatus
    error: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    answers_schema_json: str
    def __init__(self, name: _Optional[str] = ..., dir: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[_Union[TemplateStatus, str]] = ..., error: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ..., answers_schema_json: _Optional[str] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

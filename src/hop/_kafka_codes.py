"""Kafka's and librdkafka's error codes: the one place in hop that knows them.

``hop.errors`` builds its exception families from :data:`FAMILIES` and re-exports the
predicates below (``ends_client``, ``is_unsendable``, ...), which say what a code means to a
client; nothing else in hop compares error codes.
"""

from __future__ import annotations

import confluent_kafka

_E = confluent_kafka.KafkaError

# Every librdkafka error code, grouped by the hop.errors class (named here) it becomes. The
# names are confluent_kafka.KafkaError's; a code this version of confluent-kafka lacks is skipped. A
# code missing here becomes a plain KafkaError (tests/unit/test_errors.py notices).
FAMILIES: dict[str, str] = {
    "BrokerUnavailableError": """
        _TRANSPORT _RESOLVE _ALL_BROKERS_DOWN _WAIT_COORD _ISR_INSUFF _NODE_UPDATE
        _UNKNOWN_BROKER _DESTROY_BROKER BROKER_NOT_AVAILABLE NETWORK_EXCEPTION
        LEADER_NOT_AVAILABLE NOT_LEADER_FOR_PARTITION REPLICA_NOT_AVAILABLE
        COORDINATOR_LOAD_IN_PROGRESS COORDINATOR_NOT_AVAILABLE NOT_COORDINATOR
        NOT_ENOUGH_REPLICAS NOT_ENOUGH_REPLICAS_AFTER_APPEND NOT_CONTROLLER KAFKA_STORAGE_ERROR
        LOG_DIR_NOT_FOUND PREFERRED_LEADER_NOT_AVAILABLE ELIGIBLE_LEADERS_NOT_AVAILABLE
        LISTENER_NOT_FOUND UNKNOWN_CONTROLLER_ID REBOOTSTRAP_REQUIRED FENCED_LEADER_EPOCH
        UNKNOWN_LEADER_EPOCH STALE_BROKER_EPOCH STALE_CTRL_EPOCH
    """,
    "KafkaTimeoutError": """
        _TIMED_OUT _MSG_TIMED_OUT _TIMED_OUT_QUEUE REQUEST_TIMED_OUT
    """,
    "AuthenticationError": """
        _AUTHENTICATION _SSL SASL_AUTHENTICATION_FAILED ILLEGAL_SASL_STATE
        UNSUPPORTED_SASL_MECHANISM UNACCEPTABLE_CREDENTIAL PRINCIPAL_DESERIALIZATION_FAILURE
        INVALID_PRINCIPAL_TYPE DELEGATION_TOKEN_AUTH_DISABLED DELEGATION_TOKEN_NOT_FOUND
        DELEGATION_TOKEN_OWNER_MISMATCH DELEGATION_TOKEN_REQUEST_NOT_ALLOWED
        DELEGATION_TOKEN_EXPIRED SECURITY_DISABLED
    """,
    "AuthorizationError": """
        TOPIC_AUTHORIZATION_FAILED GROUP_AUTHORIZATION_FAILED CLUSTER_AUTHORIZATION_FAILED
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED DELEGATION_TOKEN_AUTHORIZATION_FAILED
    """,
    "UnknownTopicError": """
        _UNKNOWN_TOPIC _UNKNOWN_PARTITION UNKNOWN_TOPIC_OR_PART UNKNOWN_TOPIC_ID
        INCONSISTENT_TOPIC_ID
    """,
    "MessageTooLargeError": """
        MSG_SIZE_TOO_LARGE RECORD_LIST_TOO_LARGE INVALID_MSG_SIZE
    """,
    "ConsumerError": """
        _PARTITION_EOF _UNKNOWN_GROUP _EXISTING_SUBSCRIPTION _ASSIGN_PARTITIONS
        _REVOKE_PARTITIONS _NO_OFFSET _MAX_POLL_EXCEEDED _ASSIGNMENT_LOST _AUTO_OFFSET_RESET
        _LOG_TRUNCATION OFFSET_OUT_OF_RANGE ILLEGAL_GENERATION INCONSISTENT_GROUP_PROTOCOL
        INVALID_GROUP_ID UNKNOWN_MEMBER_ID INVALID_SESSION_TIMEOUT REBALANCE_IN_PROGRESS
        INVALID_COMMIT_OFFSET_SIZE OFFSET_METADATA_TOO_LARGE NON_EMPTY_GROUP GROUP_ID_NOT_FOUND
        FETCH_SESSION_ID_NOT_FOUND INVALID_FETCH_SESSION_EPOCH OFFSET_NOT_AVAILABLE
        MEMBER_ID_REQUIRED GROUP_MAX_SIZE_REACHED FENCED_INSTANCE_ID GROUP_SUBSCRIBED_TO_TOPIC
        UNSTABLE_OFFSET_COMMIT FENCED_MEMBER_EPOCH UNRELEASED_INSTANCE_ID UNSUPPORTED_ASSIGNOR
        STALE_MEMBER_EPOCH UNKNOWN_SUBSCRIPTION_ID INVALID_RECORD_STATE SHARE_SESSION_NOT_FOUND
        INVALID_SHARE_SESSION_EPOCH FENCED_STATE_EPOCH SHARE_SESSION_LIMIT_REACHED
    """,
    "ProducerStateError": """
        _FENCED _GAPLESS_GUARANTEE _INCONSISTENT OUT_OF_ORDER_SEQUENCE_NUMBER
        DUPLICATE_SEQUENCE_NUMBER INVALID_PRODUCER_EPOCH INVALID_TXN_STATE
        INVALID_PRODUCER_ID_MAPPING INVALID_TRANSACTION_TIMEOUT CONCURRENT_TRANSACTIONS
        TRANSACTION_COORDINATOR_FENCED UNKNOWN_PRODUCER_ID PRODUCER_FENCED TRANSACTION_ABORTABLE
    """,
    "RequestRejectedError": """
        UNKNOWN INVALID_MSG TOPIC_EXCEPTION INVALID_REQUIRED_ACKS INVALID_TIMESTAMP
        UNSUPPORTED_VERSION TOPIC_ALREADY_EXISTS INVALID_PARTITIONS INVALID_REPLICATION_FACTOR
        INVALID_REPLICA_ASSIGNMENT INVALID_CONFIG INVALID_REQUEST UNSUPPORTED_FOR_MESSAGE_FORMAT
        POLICY_VIOLATION OPERATION_NOT_ATTEMPTED REASSIGNMENT_IN_PROGRESS TOPIC_DELETION_DISABLED
        UNSUPPORTED_COMPRESSION_TYPE ELECTION_NOT_NEEDED NO_REASSIGNMENT_IN_PROGRESS
        INVALID_RECORD THROTTLING_QUOTA_EXCEEDED RESOURCE_NOT_FOUND DUPLICATE_RESOURCE
        INCONSISTENT_VOTER_SET INVALID_UPDATE_VERSION FEATURE_UPDATE_FAILED
        MISMATCHED_ENDPOINT_TYPE UNSUPPORTED_ENDPOINT_TYPE TELEMETRY_TOO_LARGE
        INVALID_REGISTRATION INVALID_VOTER_KEY DUPLICATE_VOTER VOTER_NOT_FOUND
        INVALID_REGULAR_EXPRESSION STREAMS_INVALID_TOPOLOGY STREAMS_INVALID_TOPOLOGY_EPOCH
        STREAMS_TOPOLOGY_FENCED
    """,
    "ClientError": """
        NO_ERROR _BAD_MSG _BAD_COMPRESSION _DESTROY _FAIL _CRIT_SYS_RESOURCE _FS _INVALID_ARG
        _QUEUE_FULL _IN_PROGRESS _PREV_IN_PROGRESS _CONFLICT _STATE _UNKNOWN_PROTOCOL
        _NOT_IMPLEMENTED _OUTDATED _UNSUPPORTED_FEATURE _WAIT_CACHE _INTR _KEY_SERIALIZATION
        _VALUE_SERIALIZATION _KEY_DESERIALIZATION _VALUE_DESERIALIZATION _PARTIAL _READ_ONLY
        _NOENT _UNDERFLOW _INVALID_TYPE _RETRY _PURGE_QUEUE _PURGE_INFLIGHT _FATAL
        _NOT_CONFIGURED _APPLICATION _NOOP _INVALID_DIFFERENT_RECORD
    """,
}

# librdkafka retries these forever; to a person they mean the credential is wrong.
_ENDS_CLIENT = frozenset(
    {
        _E._AUTHENTICATION,
        _E.SASL_AUTHENTICATION_FAILED,
        _E.ILLEGAL_SASL_STATE,
        _E.UNSUPPORTED_SASL_MECHANISM,
        _E._SSL,
    }
)
# On a message a reader gets: no later message can be read either.
_ENDS_READING = frozenset(
    {
        _E.TOPIC_AUTHORIZATION_FAILED,
        _E.GROUP_AUTHORIZATION_FAILED,
        _E.SASL_AUTHENTICATION_FAILED,
        _E._AUTHENTICATION,
    }
)
# No retry of the same message can cure these.
_TOO_LARGE = frozenset({_E.MSG_SIZE_TOO_LARGE, _E.RECORD_LIST_TOO_LARGE})
# A connection to a broker failed (refused, not resolved, every broker down).
_CONNECT_FAILURE = frozenset({_E._TRANSPORT, _E._RESOLVE, _E._ALL_BROKERS_DOWN})
# A metadata request that may well succeed when asked again.
_RETRIABLE_LOOKUP = frozenset({_E._TRANSPORT, _E._TIMED_OUT})
# A topic that does not exist (yet), as a metadata answer says it.
_TOPIC_ABSENT = frozenset({_E.UNKNOWN_TOPIC_OR_PART, _E._UNKNOWN_TOPIC, _E.LEADER_NOT_AVAILABLE})


def _code(error: confluent_kafka.KafkaError | int | None) -> int | None:
    return error.code() if isinstance(error, confluent_kafka.KafkaError) else error


def ends_client(error: confluent_kafka.KafkaError) -> bool:
    """Whether a client-wide error ends the client: a fatal error, or a refused credential
    (which librdkafka would retry for ever)."""
    return bool(error.fatal()) or error.code() in _ENDS_CLIENT


def ends_reading(error: confluent_kafka.KafkaError) -> bool:
    """Whether an error a reader gets in place of a message ends reading (fatal, refused
    credential, no permission for the topic or group)."""
    return bool(error.fatal()) or error.code() in _ENDS_READING


def is_unsendable(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a message that failed so can never be sent as it is (too large): retrying it
    only holds up the messages behind it."""
    return _code(error) in _TOO_LARGE


def is_too_large(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether the error is the producer's own size check (the message is over its
    ``message.max.bytes``)."""
    return _code(error) == _E.MSG_SIZE_TOO_LARGE


def is_connect_failure(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether the error says a connection to a broker failed."""
    return _code(error) in _CONNECT_FAILURE


def is_retriable_lookup(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a failed metadata request is worth asking again (transport, timeout)."""
    return _code(error) in _RETRIABLE_LOOKUP


def is_topic_absent(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a topic's metadata error means the topic does not exist (yet)."""
    return _code(error) in _TOPIC_ABSENT


def is_all_brokers_down(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether librdkafka reports that every broker is down."""
    return _code(error) == _E._ALL_BROKERS_DOWN


def is_partition_eof(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether the "error" is the end of a partition (an event, not a failure)."""
    return _code(error) == _E._PARTITION_EOF


def is_no_offset(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a group has no committed offset (and no reset policy applies)."""
    return _code(error) == _E._NO_OFFSET


def is_delivery_timeout(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a message was not delivered in time (``message.timeout.ms``)."""
    return _code(error) == _E._MSG_TIMED_OUT


def is_ssl_failure(error: confluent_kafka.KafkaError | int | None) -> bool:
    """Whether a TLS (SSL) handshake or certificate check failed."""
    return _code(error) == _E._SSL


def is_broker_answer(error: confluent_kafka.KafkaError | None) -> bool:
    """Whether a delivery report shows that a broker answered: an acknowledgement (no
    error), or a broker's own refusal (Kafka's codes are positive; librdkafka's local ones,
    timeouts and transport failures among them, are negative)."""
    return error is None or error.code() >= 0

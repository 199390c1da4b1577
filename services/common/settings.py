"""Typed settings shared by every service, read from the environment (prefix ``SAFETYPLAN_``).

This is the one place that reads the environment; everything else receives a settings object.
It must never open a connection: settings are plain data, built at start-up, not at import.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PgSslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class CommonSettings(BaseSettings):
    """Connection and runtime settings every service process needs."""

    model_config = SettingsConfigDict(env_prefix="SAFETYPLAN_", extra="ignore", frozen=True)

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:59092",
        description="Comma-separated host:port list of the Kafka cluster's bootstrap brokers.",
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT", description="Kafka listener protocol; SASL_SSL in production."
    )
    kafka_sasl_mechanism: KafkaSaslMechanism | None = Field(
        None, description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password.")
    kafka_ssl_cafile: str | None = Field(
        None, description="CA bundle (PEM) that signed the brokers' certificates."
    )
    kafka_ssl_certfile: str | None = Field(None, description="Client certificate (PEM) for mTLS.")
    kafka_ssl_keyfile: str | None = Field(None, description="Client private key (PEM) for mTLS.")
    kafka_compression: Literal["lz4", "zstd", "gzip", "none"] = Field(
        "lz4", description="Producer compression codec."
    )
    topic_prefix: str = Field(
        "",
        description="Prefix put before every topic name (one cluster, several environments).",
    )

    # --- PostgreSQL --------------------------------------------------------------------------
    pg_host: str = Field("127.0.0.1", description="PostgreSQL host.")
    pg_port: int = Field(55432, description="PostgreSQL port.")
    pg_user: str = Field("safetyplan", description="PostgreSQL role the service connects as.")
    pg_password: SecretStr = Field(
        SecretStr("safetyplan-local-only"), description="Password of that role."
    )
    pg_sslmode: PgSslMode = Field("prefer", description="libpq sslmode; verify-full in production.")
    pg_sslrootcert: str | None = Field(
        None, description="CA bundle (PEM) used to verify the server with verify-ca/verify-full."
    )
    pg_schema: str | None = Field(
        None,
        description="Schema for this service's tables (default: the database's search_path).",
    )
    pg_pool_min_size: int = Field(2, ge=1, description="Connections kept open in the pool.")
    pg_pool_max_size: int = Field(20, ge=1, description="Most connections the pool may open.")

    # --- authentication: OAuth2 bearer JWTs (services/common/auth.py) ------------------------
    auth_issuer: str = Field(
        "safetyplan-local",
        description="Expected `iss` of bearer tokens: your identity provider's issuer.",
    )
    auth_audience: str = Field(
        "safetyplan", description="Expected `aud` of bearer tokens (this platform's API)."
    )
    auth_jwks: str | None = Field(
        None,
        description="JWKS of the token issuer (https URL or file path; RS256/ES256 keys by "
        "`kid`). When set, it is the only key source.",
    )
    auth_public_key_file: str | None = Field(
        None,
        description="PEM public key (RS256 or ES256) that verifies bearer tokens, used when "
        "no JWKS is set.",
    )
    auth_dev_hs256_secret: SecretStr | None = Field(
        SecretStr("safetyplan-local-dev-only-hs256-secret-not-for-production"),
        description="Local/dev only: HS256 shared secret for bearer tokens, used only when "
        "neither a JWKS nor a public key is set.",
    )
    auth_leeway_seconds: int = Field(
        30, ge=0, le=300, description="Clock skew allowed when checking exp, iat and nbf."
    )
    auth_verified_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=300,
        description="How long a verified token is reused without checking its signature again "
        "(never past its exp); 0 verifies every request. A key removed from the JWKS stops "
        "being accepted at most this long after.",
    )

    # --- process -----------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level; logs never carry personal data at any level."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    http_workers: int = Field(
        1,
        ge=1,
        le=16,
        description="API processes per instance (uvicorn workers); each has its own pools and "
        "command writer. One process uses at most one core.",
    )

    # Overridden by each service's settings class.
    service_name: str = Field("common", description="Name used in logs, metrics and client ids.")
    pg_dbname: str = Field("postgres", description="Database holding this service's tables.")
    http_port: int = Field(8100, description="Port the HTTP API listens on.")

    # --- derived views -----------------------------------------------------------------------
    def topic(self, name: str) -> str:
        """Full topic name for a logical topic name, with the deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    def pg_conninfo(self, dbname: str | None = None) -> str:
        """A libpq connection string (password included; never log it)."""
        from psycopg.conninfo import make_conninfo

        extra: dict[str, Any] = {}
        if self.pg_schema:
            extra["options"] = f"-c search_path={self.pg_schema}"
        if self.pg_sslrootcert:
            extra["sslrootcert"] = self.pg_sslrootcert
        return make_conninfo(
            host=self.pg_host,
            port=self.pg_port,
            user=self.pg_user,
            password=self.pg_password.get_secret_value(),
            dbname=dbname or self.pg_dbname,
            sslmode=self.pg_sslmode,
            application_name=self.service_name,
            connect_timeout=5,
            **extra,
        )

    def kafka_config(self) -> dict[str, Any]:
        """Connection options shared by kafka-python producers, consumers and admin clients."""
        cfg: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.kafka_bootstrap_servers.split(",")],
            "security_protocol": self.kafka_security_protocol,
            "client_id": self.service_name,
        }
        if self.kafka_security_protocol.startswith("SASL"):
            cfg["sasl_mechanism"] = self.kafka_sasl_mechanism or "SCRAM-SHA-512"
            cfg["sasl_plain_username"] = self.kafka_sasl_username
            cfg["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            cfg["ssl_cafile"] = self.kafka_ssl_cafile
            cfg["ssl_certfile"] = self.kafka_ssl_certfile
            cfg["ssl_keyfile"] = self.kafka_ssl_keyfile
            cfg["ssl_check_hostname"] = True
        return cfg

    def eventsourcing_env(self, dbname: str | None = None) -> dict[str, str]:
        """The one bridge from typed settings to the eventsourcing library's POSTGRES_* keys.

        Default mode on purpose: POSTGRES_ENABLE_DB_FUNCTIONS drops the table lock and a
        reader tailing the notification log then misses events (architecture.md).
        """
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname or self.pg_dbname,
            "POSTGRES_HOST": self.pg_host,
            "POSTGRES_PORT": str(self.pg_port),
            "POSTGRES_USER": self.pg_user,
            "POSTGRES_PASSWORD": self.pg_password.get_secret_value(),
            "POSTGRES_POOL_SIZE": str(self.pg_pool_max_size),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        }
        if self.pg_schema:
            env["POSTGRES_SCHEMA"] = self.pg_schema
        return env

    def libpq_tls_env(self) -> dict[str, str]:
        """PGSSLMODE/PGSSLROOTCERT for connections libpq opens on its own (the eventsourcing
        recorder has no TLS keys of its own; libpq reads these from the process environment)."""
        env: dict[str, str] = {"PGSSLMODE": str(self.pg_sslmode)}
        if self.pg_sslrootcert:
            env["PGSSLROOTCERT"] = self.pg_sslrootcert
        return env


DEV_KEK = "c2FmZXR5cGxhbi1sb2NhbC1kZXYtb25seS1rZWstMzI="
"""Base64 of a public 32-byte key: local development only; refused beyond loopback."""


class EntitledSettings(CommonSettings):
    """Settings of a service entitled to personal data: it seals or opens it with patient keys.

    The audit service does not get these on purpose: it needs nobody's personal data.
    """

    personal_data_kek: SecretStr = Field(
        SecretStr(DEV_KEK),
        description="Key-encryption key (base64 of 32 bytes) that wraps every patient's data "
        "key; from your KMS or secret store. The default is public and local-only.",
    )
    personal_data_kek_id: str = Field(
        "local-dev-1",
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="Name of that key-encryption key, stored beside each wrapped data key.",
    )
    keys_pg_dbname: str = Field(
        "safetyplan_keys",
        description="Database of the key vault (wrapped patient keys, erasures, legal holds).",
    )

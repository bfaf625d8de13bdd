"""The base hook: the contract with a vendor module, and the job calls every API shares (sync and async).

A hook for a new API subclasses :class:`VideoJobHook` with ``api="<conn_type>"`` and provides what
the class docstring lists as MUST (CONTRIBUTING.md has the steps). HTTP itself (clients, transport,
auth, reading, retries, errors, scrubbing) lives in :mod:`airflow_provider_vidjobs.http`; ids in
:mod:`.ids`, downloads in :mod:`.assets`. Over ~400 lines on purpose: one class, whose contract, settings
lookup and sync/async job calls read best together.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import BaseHook, mask_secret
from pydantic import BaseModel, ValidationError

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.exceptions import (
    AuthenticationError,
    CreateOutcomeUnknownError,
    InvalidRequestError,
    InvalidResponseError,
    JobNotFoundError,
    OrphanLookupUnavailableError,
    RateLimitedError,
    TransientAPIError,
    VideoAPIError,
)
from airflow_provider_vidjobs.hooks import assets, diagnostics
from airflow_provider_vidjobs.hooks.assets import AssetSource
from airflow_provider_vidjobs.hooks.ids import MAX_JOB_ID_LENGTH, check_job_id, path_segment
from airflow_provider_vidjobs.hooks.registry import HOOKS, ApiSpec
from airflow_provider_vidjobs.hooks.requests import CreateRequest
from airflow_provider_vidjobs.http import clients, settings_cache
from airflow_provider_vidjobs.http.clients import ApiKeyAuth, Retrying
from airflow_provider_vidjobs.http.responses import Reply, aread_capped, read_capped, to_reply
from airflow_provider_vidjobs.http.scrub import scrub_message
from airflow_provider_vidjobs.http.settings import ConnectionSettings, settings_from_connection
from airflow_provider_vidjobs.models import JobError, VideoJob, shared_status_mapper
from airflow_provider_vidjobs.retry import RetryPolicy, is_retryable_status


@dataclass(frozen=True)
class JobPoll:
    """One poll's result: the job now, and how long the server asked us to wait before asking again."""

    job: VideoJob
    poll_after: float | None = None


class VideoJobHook(BaseHook, ABC):
    """Base of the per-API hooks: reads jobs over HTTP and returns :class:`VideoJob`.

    The contract with a vendor module (also in CONTRIBUTING.md). A subclass is declared
    ``class MyHook(VideoJobHook, api="<conn_type>")``: its registry entry (:data:`.registry.HOOKS`) gives
    conn type, hook name, default conn id, default base URL and auth scheme. It MUST provide
    :attr:`wire_model`, :meth:`status_table`, :meth:`normalize`, :meth:`job_path` and :attr:`probe_job_id`;
    it MAY override :meth:`validate_job_id`, :meth:`cancel_path` (which sets :attr:`can_cancel`) and
    :attr:`cancel_method`, :attr:`key_prefix` (which paths get the key; the API root is a registry rule),
    :meth:`job_web_url`, :meth:`asset_source`, :meth:`create_job` (through :meth:`post_create`; sets
    :attr:`can_create`; with its :attr:`request_model`), :meth:`find_created_jobs` (the orphan lookup;
    sets :attr:`can_find_created`),
    and add its own calls (``create_video``).
    """

    # ----- from the registry entry (set by ``__init_subclass__(api=...)``) ----------------------
    api_spec: ClassVar[ApiSpec | None] = None
    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""
    #: The value of :attr:`VideoJob.provider` for jobs of this API (its conn type).
    provider: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    #: ``Authorization: <scheme> <key>``.
    auth_scheme: ClassVar[str] = "Bearer"

    # ----- what a vendor MUST provide -----------------------------------------------------------
    #: The pydantic model of the API's job JSON (a tolerant :class:`~airflow_provider_vidjobs.models.WireModel`).
    wire_model: ClassVar[type[BaseModel]]
    #: A syntactically valid id that no job has: ``test_connection`` expects a 404 for it.
    probe_job_id: ClassVar[str] = ""

    # ----- base-URL rules a vendor MAY declare ----------------------------------------------------
    #: Path under the base URL where the API's routes live (``ApiSpec.api_root``; see :meth:`api_root_for`).
    api_root: ClassVar[str] = ""
    #: Path prefix, under the API root, that receives the key; nothing else does.
    key_prefix: ClassVar[str] = "/"
    #: Whether the API documents a way to stop a job: true when the class overrides :meth:`cancel_path`.
    can_cancel: ClassVar[bool] = False
    #: The HTTP method sent to :meth:`cancel_path` (Replicate cancels with a POST).
    cancel_method: ClassVar[str] = "DELETE"
    #: Whether the API documents a create: true when the class overrides :meth:`create_job`.
    can_create: ClassVar[bool] = False
    #: Whether a lost create's job can be looked for: true when the class overrides :meth:`find_created_jobs`.
    can_find_created: ClassVar[bool] = False
    #: With :meth:`create_job`: the pydantic model of a create request (its ``create_kwargs()`` are
    #: ``create_job``'s request), which ``GenerateVideoOperator`` validates; None where the API cannot create.
    request_model: ClassVar[type[CreateRequest] | None] = None

    def __init_subclass__(cls, api: str | None = None, **kwargs: Any) -> None:
        """Take the class attributes from the API's registry entry, so they are declared once."""
        super().__init_subclass__(**kwargs)
        if api is not None:
            spec = HOOKS[api]
            cls.api_spec = spec
            cls.conn_type = cls.provider = spec.conn_type
            cls.hook_name = spec.hook_name
            cls.default_conn_name = spec.default_conn_name
            cls.conn_name_attr = spec.conn_name_attr
            cls.default_base_url = spec.default_base_url
            cls.auth_scheme = spec.auth_scheme
            cls.api_root = spec.api_root
        cls.can_cancel = cls.cancel_path is not VideoJobHook.cancel_path
        cls.can_create = cls.create_job is not VideoJobHook.create_job
        cls.can_find_created = cls.find_created_jobs is not VideoJobHook.find_created_jobs

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        status_overrides: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self.status_mapper = shared_status_mapper(self.provider, self.status_table(), status_overrides)
        self._retry_override = retry_policy
        self._settings: ConnectionSettings | None = None
        self._sync_client: httpx.Client | None = None
        self._storage_client: httpx.Client | None = None
        self._session: clients.SharedClient | None = None
        self._auth_cache: tuple[ConnectionSettings, ApiKeyAuth] | None = None
        #: (id as given, validated id, API path) of the last job polled (see :meth:`apoll_job`).
        self._poll_target: tuple[str, str, str] | None = None
        self._roots_cache: tuple[str, str, str] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # ----- what each API provides --------------------------------------------------------------

    @classmethod
    @abstractmethod
    def status_table(cls) -> Mapping[str, Any]:
        """MUST: vendor status string -> :class:`JobStatus` (``status.COMMON_SPELLINGS`` plus the API's own)."""

    @abstractmethod
    def normalize(self, wire: Any, api_url: str) -> VideoJob:
        """MUST: the normalized job from a validated :attr:`wire_model`.

        ``api_url`` is the base URL plus the API root, for the URLs a job's JSON implies (content routes).
        """

    @abstractmethod
    def job_path(self, job_id: str, root: str) -> str:
        """MUST: the API path of one job (the id already validated; ``root`` from :meth:`api_root_for`)."""

    def validate_job_id(self, job_id: object) -> str:
        """MAY: refuse ids that cannot be a job of this API, before any request; returns the clean id."""
        return check_job_id(job_id, self.provider)

    def parse_job(self, payload: Any, job_id: str) -> VideoJob:
        """Validate the vendor JSON with :attr:`wire_model` and :meth:`normalize` it."""
        return self.normalize(self.wire_model.model_validate(payload), self._api_url())

    def job_web_url(self, job_id: str) -> str | None:
        """MAY: a link to the job in the vendor's web app, from the connection's ``web_url_template``.

        A URL the API itself returns (:attr:`VideoJob.web_url`) is preferred by the extra link.
        """
        template = self.settings.web_url_template
        return template.replace("{job_id}", path_segment(job_id)) if template else None

    def api_root_for(self, base_url: str) -> str:
        """:attr:`api_root`, or ``""`` when the base URL already ends with it (the declarative rule)."""
        root = self.api_root
        if root and urlsplit(base_url).path.rstrip("/").endswith(root):
            return ""
        return root

    def _root(self) -> str:
        """The API root for the settings read (or the default base URL before any)."""
        return self._roots()[0]

    def _api_url(self) -> str:
        return self.api_url()

    def api_url(self) -> str:
        """The base URL plus the API root (what :meth:`normalize` takes for the URLs a job's JSON implies)."""
        return self._roots()[1]

    def _roots(self) -> tuple[str, str]:
        """(API root, base URL + root), computed once per settings (a poll reads them every time)."""
        base = self._base_url_or_default()
        cached = self._roots_cache
        if cached is None or cached[0] != base:
            root = self.api_root_for(base) if self.api_root else ""
            cached = self._roots_cache = (base, root, base + root)
        return cached[1], cached[2]

    # ----- connection --------------------------------------------------------------------------

    def _parse_settings(self, conn: Any, extra: Mapping[str, Any]) -> ConnectionSettings:
        return settings_from_connection(
            conn_id=self.conn_id,
            provider=self.provider,
            default_base_url=self.default_base_url,
            host=conn.host,
            schema=conn.schema,
            port=conn.port,
            password=conn.password,
            extra=extra,
        )

    def _with_override(self, settings: ConnectionSettings) -> ConnectionSettings:
        return settings if self._retry_override is None else _with_retry(settings, self._retry_override)

    @property
    def settings(self) -> ConnectionSettings:
        """The connection's settings, read once with the sync lookup (for code running in a task)."""
        if self._settings is None:
            conn = self.get_connection(self.conn_id)
            settings = self._parse_settings(conn, conn.extra_dejson)
            mask_secret(settings.api_key.reveal())
            self._settings = self._with_override(settings)
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """The connection's settings with the async lookup (for triggers), shared for a few seconds.

        A triggerer starting thousands of waits on one connection looks it up once per
        ``settings_cache.TTL_S`` rather than once per wait (see :mod:`.settings_cache`).
        """
        if self._settings is None:
            settings = await settings_cache.load(self.provider, self.conn_id, self._alookup_settings)
            self._settings = self._with_override(settings)
        return self._settings

    async def _alookup_settings(self) -> ConnectionSettings:
        conn = await get_async_connection(self.conn_id, hook=self)
        extra = await get_async_extra_dejson(conn)
        settings = self._parse_settings(conn, extra)
        await amask_secret(settings.api_key.reveal())
        return settings

    def api_path_prefix(self, settings: ConnectionSettings) -> str:
        """The path prefix, relative to the base URL, of the API's own routes (which get the key)."""
        return self.api_root_for(settings.base_url) + self.key_prefix

    def _auth(self, settings: ConnectionSettings) -> ApiKeyAuth:
        if self._auth_cache is None or self._auth_cache[0] is not settings:
            auth = ApiKeyAuth(
                self.auth_scheme, settings.api_key.reveal(), settings.base_url, self.api_path_prefix(settings)
            )
            self._auth_cache = (settings, auth)
        return self._auth_cache[1]

    def get_conn(self) -> httpx.Client:
        """The hook's blocking client (created once, reused for every call of this hook)."""
        if self._sync_client is None:
            self._sync_client = clients.build_sync_client(self.settings)
            self._sync_client.auth = self._auth(self.settings)
        return self._sync_client

    def close(self) -> None:
        for client in (self._sync_client, self._storage_client):
            if client is not None:
                client.close()
        self._sync_client = self._storage_client = None

    # ----- jobs --------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> VideoJob:
        """The job now (blocking, retried per the connection's retry policy)."""
        job_id = self.validate_job_id(job_id)
        _ = self.settings  # paths may depend on the base URL
        reply = self.request("GET", self.job_path(job_id, self._root()), job_id=job_id)
        job = self.to_job(reply.payload, job_id)
        url_secrets.register_job(job)  # a pre-signed URL's signature: masked in logs, whole in the XCom
        return job

    async def aget_job(self, job_id: str) -> VideoJob:
        """The job now (async, through the shared client of this loop and connection)."""
        return (await self.apoll_job(job_id)).job

    async def apoll_job(self, job_id: str) -> JobPoll:
        """The job now plus the server's hint for when to ask again."""
        target = self._poll_target
        if target is None or target[0] != job_id:
            # A wait polls one id again and again: validate it and build its path once, not every poll.
            clean = self.validate_job_id(job_id)
            await self.aget_settings()  # paths may depend on the base URL
            target = self._poll_target = (job_id, clean, self.job_path(clean, self._root()))
        _, clean, path = target
        reply = await self.arequest("GET", path, job_id=clean)
        # Not registered with the secret masker here: in a long-lived triggerer every finished job would
        # add patterns to one regex that Airflow recompiles on each addition and runs on every log line
        # (see url_secrets). The worker that resumes the task registers them (VideoJob.from_xcom).
        return JobPoll(self.to_job(reply.payload, clean), reply.poll_after)

    def cancel_path(self, job_id: str, root: str) -> str:
        """MAY: the API path that stops a job (with :attr:`cancel_method`); overriding it sets :attr:`can_cancel`."""
        raise NotImplementedError(f"{self.provider} documents no way to cancel a job")

    def cancel_job(self, job_id: str) -> None:
        """Ask the API to stop the job (blocking); a job the API no longer knows (404) counts as stopped."""
        clean = self.validate_job_id(job_id)
        _ = self.settings  # paths may depend on the base URL
        with suppress(JobNotFoundError):
            self.request(self.cancel_method, self.cancel_path(clean, self._root()), job_id=clean)

    async def acancel_job(self, job_id: str) -> None:
        """:meth:`cancel_job` for the triggerer's loop."""
        clean = self.validate_job_id(job_id)
        await self.aget_settings()
        with suppress(JobNotFoundError):
            await self.arequest(self.cancel_method, self.cancel_path(clean, self._root()), job_id=clean)

    # ----- creating jobs (MAY): sent once, and findable again when the answer is lost ----------------

    def create_job(self, request: Mapping[str, Any]) -> VideoJob:
        """MAY: start a job from ``request`` (the API's create fields) via :meth:`post_create`; sets ``can_create``."""
        raise NotImplementedError(f"{self.provider} documents no way to create a job")

    def find_created_jobs(self, request: Mapping[str, Any], since: datetime, until: datetime) -> list[VideoJob]:
        """MAY: the jobs ``request`` created with ``created_at`` in [since, until], earliest first.

        What re-attach calls when an earlier try sent a create whose answer it never read (see
        :mod:`airflow_provider_vidjobs.reattach`). Raises :class:`OrphanLookupUnavailableError` when there
        is no list to look in: the API documents none, or a gateway answers its list with 404 or 405.
        """
        raise OrphanLookupUnavailableError(
            "documents no list of jobs in which to look for one whose create answer was lost", provider=self.provider
        )

    def post_create(self, path: str, **kwargs: Any) -> VideoJob:
        """POST a create once and read the new job.

        A refusal (400/422, 401/403, 404, 429 after its retries) made no job and is raised as is. Anything
        after which a job may exist (a 5xx or proxy error, a timeout, a connection cut mid-answer, an
        unreadable answer or one naming no job) is a :class:`CreateOutcomeUnknownError`: never sent
        again here, it tells the caller the next try must look for the job before paying for another.
        """
        failure: VideoAPIError
        try:
            reply = self.request("POST", path, idempotent=False, **kwargs)
        except (InvalidRequestError, AuthenticationError, JobNotFoundError, RateLimitedError):
            raise
        except VideoAPIError as error:
            failure = error
        else:
            payload = reply.payload
            job_id = payload.get("id") if isinstance(payload, dict) else None
            if not isinstance(job_id, str) or not job_id:
                failure = InvalidResponseError("the answer names no job id", provider=self.provider)
            else:
                try:
                    return self.to_job(payload, job_id)
                except InvalidResponseError as error:
                    failure = error
        raise self._lost_create(failure)  # outside the except blocks: nothing of the reply rides on the chain

    def _lost_create(self, failure: VideoAPIError) -> CreateOutcomeUnknownError:
        vendor = self.api_spec.vendor if self.api_spec else self.provider
        console = self.api_spec.console_url if self.api_spec else ""
        return CreateOutcomeUnknownError(
            f"the create request may have reached {vendor} and made a job (which is billed), but its answer "
            f"was lost ({failure.summary}); it is not sent again",
            provider=self.provider,
            job_id=failure.job_id,
            http_status=failure.http_status,
            vendor_message=failure.vendor_message,
            request_id=failure.request_id,
            hint="The next try of this task (retries >= 1, reattach=True) looks for that job at the API and waits "
            "on it instead of creating another; without a retry, look for it in "
            + (console or f"{vendor}'s web console")
            + " before running the task again",
        )

    def to_job(self, payload: Any, job_id: str) -> VideoJob:
        """:meth:`parse_job` with validation failures turned into :class:`InvalidResponseError`.

        The error is raised outside the ``except`` block, so the parser's error (which holds the
        vendor's values) is not its ``__context__``. A job's error text is scrubbed of the key in every
        spelling (the reply's data was scrubbed of it as is): it is what a failed wait shows people.
        """
        try:
            job = self.parse_job(payload, job_id)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors(include_url=False, include_input=False)[:3]
            )
            failure = InvalidResponseError(
                f"the job JSON does not have the documented shape ({problems})",
                provider=self.provider,
                job_id=job_id,
                hint="The API may have changed; report this with the request id to the provider's maintainers",
            )
        except (TypeError, ValueError, AttributeError) as error:
            failure = InvalidResponseError(
                f"the job JSON could not be read ({type(error).__name__}: {error})",
                provider=self.provider,
                job_id=job_id,
            )
        else:
            return self._scrubbed_error(job)
        raise failure

    def _scrubbed_error(self, job: VideoJob) -> VideoJob:
        error = job.error
        secret = self._settings.api_key.reveal() if self._settings is not None else None
        if error is None or not secret:
            return job
        code, message = scrub_message(error.code, secret), scrub_message(error.message, secret)
        if (code, message) == (error.code, error.message):
            return job
        return job.model_copy(update={"error": JobError(code=code, message=message)})

    # ----- HTTP --------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, job_id: str | None = None, idempotent: bool = True, **kwargs: Any
    ) -> Reply:
        """Send one API request (blocking), retrying transient failures per the policy (see :class:`Retrying`)."""
        settings = self.settings
        client = self.get_conn()
        retrying = Retrying(
            settings.retry,
            provider=self.provider,
            job_id=job_id,
            base_url=settings.base_url,
            log=self.log,
            idempotent=idempotent,
        )
        for attempt in retrying:
            with attempt:
                with client.stream(method, path, **kwargs) as response:
                    body = read_capped(response, self.provider, job_id)
                return self._reply(response, body, job_id, settings.api_key.reveal())
            attempt.raise_final()
            time.sleep(attempt.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def arequest(self, method: str, path: str, *, job_id: str | None = None, **kwargs: Any) -> Reply:
        """Send one API request (async), retrying transient failures per the policy."""
        settings = await self.aget_settings()
        if self._session is not None:  # a trigger's wait: no lease (and no context manager) per poll
            return await self._asend(self._session, settings, method, path, job_id, kwargs)
        async with clients.CLIENT_POOL.lease(settings, linger=True) as shared:
            return await self._asend(shared, settings, method, path, job_id, kwargs)

    async def _asend(
        self,
        shared: clients.SharedClient,
        settings: ConnectionSettings,
        method: str,
        path: str,
        job_id: str | None,
        kwargs: dict[str, Any],
    ) -> Reply:
        retrying = Retrying(
            settings.retry, provider=self.provider, job_id=job_id, base_url=settings.base_url, log=self.log
        )
        for attempt in retrying:
            with attempt:
                async with shared.in_flight:
                    auth = self._auth(settings)
                    request = auth.build_request(shared.client, method, path, **kwargs)
                    response = await shared.send(request)
                    try:
                        body = await aread_capped(response, self.provider, job_id)
                    finally:
                        await response.aclose()
                return self._reply(response, body, job_id, auth.key)
            attempt.raise_final()
            await asyncio.sleep(attempt.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _reply(self, response: httpx.Response, body: bytes, job_id: str | None, secret: str) -> Reply:
        """The reply to a request sent with the key ``secret`` (scrubbed out of it)."""
        try:
            return to_reply(response, body, provider=self.provider, job_id=job_id, conn_id=self.conn_id, secret=secret)
        except AuthenticationError:
            settings_cache.forget(self.provider, self.conn_id)  # a corrected key is read by the next wait
            raise

    @asynccontextmanager
    async def async_session(self) -> AsyncIterator[VideoJobHook]:
        """Hold this loop's shared client for a series of calls (a trigger's whole wait); closed with the last."""
        settings = await self.aget_settings()
        async with clients.CLIENT_POOL.lease(settings) as shared:
            self._session = shared
            try:
                yield self
            finally:
                self._session = None

    # ----- assets (downloads) ---------------------------------------------------------------------

    def asset_source(self, job_id: str, variant: str = "video") -> AssetSource:
        """MAY: where to download a finished job's file from, with a fresh URL (pre-signed ones expire)."""
        return assets.source_of(self.get_job(job_id), variant, self.provider)

    @contextmanager
    def open_asset(self, source: AssetSource) -> Iterator[httpx.Response]:
        """Stream an asset. The key goes only to the API's own content route, never to storage URLs."""
        if source.send_key:
            client = self.get_conn()
        else:
            if self._storage_client is None:
                self._storage_client = clients.build_storage_client(self.settings)
            client = self._storage_client
        with assets.stream(client, source, self.provider, self.settings.api_key.reveal()) as response:
            yield response

    # ----- Airflow UI ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Say one of three things: works (the URL), key rejected (the API's words), host unreachable (why).

        Reads a job that cannot exist: a 404 means the key was accepted. The messages name neither that
        probe job nor the connection id (Airflow's UI tests a copy under a random temporary id).
        """
        try:
            self.get_job(self.probe_job_id)
        except JobNotFoundError:
            pass
        except AuthenticationError as error:
            said = error.vendor_message or error.summary
            return False, f"Key rejected by {self._base_url_or_default()} (HTTP {error.http_status}): {said}"
        except VideoAPIError as error:
            return False, f"Host unreachable: {diagnostics.cause(error, self._base_url_or_default())}"
        except ValueError as error:
            return False, diagnostics.without_conn_id(str(error), self.conn_id)
        return True, f"Works: {self.settings.base_url} accepted the API key."

    def _base_url_or_default(self) -> str:
        return self._settings.base_url if self._settings else self.default_base_url


async def amask_secret(secret: str) -> None:
    """``mask_secret`` from the event loop: the supervisor is told too, with no greenback portal needed.

    The sync ``mask_secret`` tells the supervisor through a blocking call that fails (silently) on an
    event loop without a portal; Airflow 3.3.2+ has an async form, and older ones get the sync form in
    a worker thread, as their own async connection lookup does.
    """
    try:
        from airflow.sdk.log import amask_secret as airflow_amask_secret
    except ImportError:  # Airflow < 3.3.2
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(secret)
    else:
        await airflow_amask_secret(secret)


def _with_retry(settings: ConnectionSettings, policy: RetryPolicy) -> ConnectionSettings:
    from dataclasses import replace

    return replace(settings, retry=policy)


def is_retryable(error: BaseException) -> bool:
    """True for failures the trigger should sit out rather than end the wait on."""
    return isinstance(error, TransientAPIError) or (
        isinstance(error, VideoAPIError) and error.http_status is not None and is_retryable_status(error.http_status)
    )


__all__ = [
    "MAX_JOB_ID_LENGTH",
    "AssetSource",
    "JobPoll",
    "Reply",
    "VideoJobHook",
    "check_job_id",
    "is_retryable",
    "path_segment",
]

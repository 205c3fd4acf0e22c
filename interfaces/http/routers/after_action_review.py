"""After-action reviews of closed crises and their improvement items: one POST per command on the review (its
version in the ETag and `If-Match`), the review read whole, and the items of final reviews listed by due time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel

from application.projections.after_action_items import AfterActionItems
from application.projections.paging import DEFAULT_LIMIT, Page
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, answered, etag, query_time
from interfaces.http.routers.audit_history import Histories, OptionalAsOf, Version, _frame
from interfaces.http.routers.read_models import READ, Limit, Views, caught_up, linked
from interfaces.http.routing import Route
from interfaces.http.schemas.after_action_review import (
    AddImprovementItemRequest,
    AfterActionItemsResponse,
    AfterActionReviewResponse,
    CommentAfterActionReviewRequest,
    CompleteImprovementItemRequest,
    DraftAfterActionReviewRequest,
    DropImprovementItemRequest,
    FinaliseAfterActionReviewRequest,
    ReviseAfterActionReviewRequest,
    SetPlanReviewFromItemRequest,
    present_review,
)
from interfaces.http.schemas.common import CommandResponse, Code, line

router = APIRouter(tags=["after-action reviews"], route_class=Route)
REVIEW = "/crises/{crisis_id}/after-action-review"


@router.get(REVIEW, response_model=AfterActionReviewResponse)
def get_after_action_review(crisis_id: PathId, app: App, actor: CurrentActor, response: Response) -> dict[str, Any]:
    """The crisis's after-action review with its comments and improvement items (overdue derived now), its
    version in the ETag. Content above the reader's clearance is redacted."""
    review = app.get_after_action_review(actor, crisis_id)
    response.headers["ETag"] = etag(review.version)
    return present_review(review, actor, app.now(), app.policy)


@router.post(f"{REVIEW}/draft", status_code=status.HTTP_201_CREATED)
def draft_after_action_review(
    crisis_id: PathId, body: DraftAfterActionReviewRequest, app: App, actor: CurrentActor, response: Response
) -> CommandResponse:
    """Draft the after-action review of a CLOSED crisis, once (preparedness manager). A review recorded in one
    step (POST /crises/{crisis_id}/after-action-review) is final already."""
    version = app.draft_after_action_review(actor, crisis_id, **body.args())
    response.headers["Location"] = REVIEW.format(crisis_id=crisis_id)
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/revisions")
def revise_after_action_review(
    crisis_id: PathId, body: ReviseAfterActionReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Revise the findings and recommendations of a draft (preparedness manager)."""
    version = app.revise_after_action_review(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/comments")
def comment_after_action_review(
    crisis_id: PathId, body: CommentAfterActionReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Comment on a draft (preparedness manager, duty officers, division contacts)."""
    version = app.comment_after_action_review(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/items")
def add_improvement_item(
    crisis_id: PathId, body: AddImprovementItemRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Give a draft an improvement item: its owner unit (a city unit), task, due time (after it is added) and
    evidence of the crisis (log entries, decisions, situation reports), each checked to exist."""
    version = app.add_improvement_item(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/final")
def finalise_after_action_review(
    crisis_id: PathId, body: FinaliseAfterActionReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Make the review final (preparedness manager): it never changes again, and its items are tracked."""
    version = app.finalise_after_action_review(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/items/{{item_id}}/done")
def complete_improvement_item(
    crisis_id: PathId, item_id: PathId, body: CompleteImprovementItemRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Mark an item of a final review DONE, with a note (its unit's division contact, the preparedness manager)."""
    version = app.complete_improvement_item(
        actor, crisis_id, item_id=item_id, expected_version=expected, **body.args()
    )
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/items/{{item_id}}/drop")
def drop_improvement_item(
    crisis_id: PathId, item_id: PathId, body: DropImprovementItemRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Drop an item of a final review, with the reason (preparedness manager)."""
    version = app.drop_improvement_item(actor, crisis_id, item_id=item_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post(f"{REVIEW}/items/{{item_id}}/plan-review")
def set_plan_review_from_item(
    crisis_id: PathId, item_id: PathId, body: SetPlanReviewFromItemRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Set the next review due of a continuity plan of the item's unit, from an item of a final review: recorded
    on the review and on the unit in one write (its unit's division contact, the preparedness manager)."""
    version = app.set_plan_review_from_item(
        actor, crisis_id, item_id=item_id, expected_version=expected, **body.args()
    )
    return answered(response, app, crisis_id, version)


def item_filters(
    unit: Annotated[Code | None, Query(description="Only this unit's items.", examples=["STARA"])] = None,
    item_status: Annotated[Code | None, Query(alias="status", description="OPEN, DONE or DROPPED.",
                                              examples=["OPEN"])] = None,
    overdue: Annotated[bool | None, Query(description="Only the overdue items (true), or only the others (false).")] = None,
) -> dict[str, Any]:
    return {"unit": unit, "status": item_status, "overdue": overdue}


Cursor = Annotated[line(140) | None, Query(description="The items after this cursor (a page's `next`).")]


@router.get(
    "/after-action-items",
    response_model=AfterActionItemsResponse,
    dependencies=[caught_up(AfterActionItems.name)],
    **READ,
)
def list_after_action_items(
    views: Views, actor: CurrentActor, request: Request, response: Response,
    filters: Annotated[dict[str, Any], Depends(item_filters)], limit: Limit = DEFAULT_LIMIT, after: Cursor = None,
) -> dict[str, Any]:
    """The improvement items of final after-action reviews, by due time, filtered by `unit`, `status` and
    `overdue` (derived from the server clock now, as for actions); a page at a time (`limit`, at most 1000): page
    on with `after=next`, also given as a `Link` header."""
    return linked(request, response, views.list_after_action_items(actor, Page(limit, after), **filters))


class AfterActionReviewAsItWasResponse(BaseModel):
    """An after-action review as it was: `as_of` is the moment its overdue items are computed for."""

    as_of: str
    version: int
    version_recorded_at: str
    latest_version: int
    review: AfterActionReviewResponse


@router.get("/audit/crises/{crisis_id}/after-action-review")
def get_after_action_review_as_it_was(
    crisis_id: PathId, history: Histories, actor: CurrentActor, version: Version = None, as_of: OptionalAsOf = None
) -> AfterActionReviewAsItWasResponse:
    """A crisis's after-action review at a version, or as it was at a moment (auditors)."""
    at = query_time(history.app, as_of, "as_of")
    found = history.get_after_action_review_at(actor, crisis_id, version=version, as_of=at)
    review = present_review(found.aggregate, actor, found.at, history.app.policy)
    return AfterActionReviewAsItWasResponse(**_frame(found), review=review)

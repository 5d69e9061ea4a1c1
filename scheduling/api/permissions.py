"""Who may do what through the API: the same Django permissions the admin checks, per method
(``participants.roles``). A user without them gets a 403 naming what their role lacks (a
Monitor's token writes nothing); the records of sites they do not work at are scoped out of
every query, so they are a 404 (``roles.scope_to_sites``)."""

from rest_framework import exceptions, permissions

from participants import roles


class RolePermissions(permissions.BasePermission):
    """The view's ``required_permissions[method]``, checked as ``roles.refusal`` checks a staff
    command's user."""

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = getattr(view, "required_permissions", {}).get(method)
        if needed is None:
            # A method the view does not offer: let it answer 405.
            return True
        problem = roles.refusal(user, needed)
        if problem:
            raise exceptions.PermissionDenied(problem)
        return True

"""Changing a protocol plan that participants already follow: preview, confirm, apply."""


def changeform_with_confirmation(model_admin, request, object_id, form_url, extra_context, view):
    return view(request, object_id, form_url, extra_context)

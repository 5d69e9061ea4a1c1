"""Submitting admin change forms in tests as a browser would."""


def form_data(response) -> dict:
    """The change page's form as a browser would submit it unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]  # ticked checkboxes
            elif value is not None:
                data[bound.html_name] = str(value)
    return data

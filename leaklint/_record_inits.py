"""The ``__init__`` of every record in leaklint, compiled with the package's bytecode
instead of at every start (``leaklint.records``). Written by
``python -m leaklint.records``; a test fails when it is out of date, and a record whose
``__init__`` is not here is compiled when its class is made."""

# mypy: ignore-errors


def _0(MISSING):
    def __init__(self, body, skipped):
        self.__dict__.update(body=body, skipped=skipped)
    return __init__


def _1(MISSING, default_returns):
    def __init__(self, call, kind, returns=default_returns):
        self.__dict__.update(call=call, kind=kind, returns=returns)
    return __init__


def _2(MISSING, default_guarding_try, default_discarded, default_helper):
    def __init__(self, call, statement, awaited, protects_throw_path, after_yield, in_handler, guarding_try=default_guarding_try, discarded=default_discarded, helper=default_helper):
        self.__dict__.update(call=call, statement=statement, awaited=awaited, protects_throw_path=protects_throw_path, after_yield=after_yield, in_handler=in_handler, guarding_try=guarding_try, discarded=discarded, helper=helper)
    return __init__


def _3(MISSING, default_fix, default_severity):
    def __init__(self, code, name, message, filename, location, end_location, fix=default_fix, severity=default_severity):
        self.__dict__.update(code=code, name=name, message=message, filename=filename, location=location, end_location=end_location, fix=fix, severity=severity)
    return __init__


def _4(MISSING):
    def __init__(self, code, name, summary, docs, check):
        self.__dict__.update(code=code, name=name, summary=summary, docs=docs, check=check)
    return __init__


def _5(MISSING):
    def __init__(self, content, location, end_location):
        self.__dict__.update(content=content, location=location, end_location=end_location)
    return __init__


def _6(MISSING, default_terminated, default_extra, default_looped, default_broke):
    def __init__(self, count, terminated=default_terminated, extra=default_extra, looped=default_looped, broke=default_broke):
        self.__dict__.update(count=count, terminated=terminated, extra=extra, looped=looped, broke=broke)
    return __init__


def _7(MISSING, factory_sources, default_color):
    def __init__(self, diagnostics, settings, sources=MISSING, color=default_color):
        if sources is MISSING: sources = factory_sources()
        self.__dict__.update(diagnostics=diagnostics, settings=settings, sources=sources, color=color)
    return __init__


def _8(MISSING, default_drivers):
    def __init__(self, drivers=default_drivers):
        self.__dict__.update(drivers=drivers)
    return __init__


def _9(MISSING, default_drivers, factory__by_name):
    def __init__(self, drivers=default_drivers, _by_name=MISSING):
        if _by_name is MISSING: _by_name = factory__by_name()
        self.__dict__.update(drivers=drivers, _by_name=_by_name)
        self.__post_init__()
    return __init__


def _10(MISSING, factory_factories, default_factory_patterns, default_release_methods, default_coroutine_release_methods, default_dependency_markers, default_drivers):
    def __init__(self, factories=MISSING, factory_patterns=default_factory_patterns, release_methods=default_release_methods, coroutine_release_methods=default_coroutine_release_methods, dependency_markers=default_dependency_markers, drivers=default_drivers):
        if factories is MISSING: factories = factory_factories()
        self.__dict__.update(factories=factories, factory_patterns=factory_patterns, release_methods=release_methods, coroutine_release_methods=coroutine_release_methods, dependency_markers=dependency_markers, drivers=drivers)
    return __init__


def _11(MISSING, default_skipped, default_yield_rows, default_whole):
    def __init__(self, filename, data, text, tree, imports, skipped=default_skipped, yield_rows=default_yield_rows, whole=default_whole):
        self.filename = filename
        self.data = data
        self.text = text
        self.tree = tree
        self.imports = imports
        self.skipped = skipped
        self.yield_rows = yield_rows
        self.whole = whole
    return __init__


def _12(MISSING, factory_diagnostics, default_error, default_warning, default_fixed, default_diff, default_source, factory_fixed_codes):
    def __init__(self, filename, diagnostics=MISSING, error=default_error, warning=default_warning, fixed=default_fixed, diff=default_diff, source=default_source, fixed_codes=MISSING):
        if diagnostics is MISSING: diagnostics = factory_diagnostics()
        if fixed_codes is MISSING: fixed_codes = factory_fixed_codes()
        self.filename = filename
        self.diagnostics = diagnostics
        self.error = error
        self.warning = warning
        self.fixed = fixed
        self.diff = diff
        self.source = source
        self.fixed_codes = fixed_codes
    return __init__


def _13(MISSING, default_location):
    def __init__(self, filename, message, location=default_location):
        self.__dict__.update(filename=filename, message=message, location=location)
    return __init__


def _14(MISSING, default_location, default_internal):
    def __init__(self, filename, message, location=default_location, internal=default_internal):
        self.__dict__.update(filename=filename, message=message, location=location, internal=internal)
    return __init__


def _15(MISSING, default_header_only):
    def __init__(self, first_row, last_row, name, error_location, error_message, header_only=default_header_only):
        self.__dict__.update(first_row=first_row, last_row=last_row, name=name, error_location=error_location, error_message=error_message, header_only=header_only)
    return __init__


def _16(MISSING, default_takes, default_metavar, default_choices, default_minimum, default_file, default_name):
    def __init__(self, flags, help, takes=default_takes, metavar=default_metavar, choices=default_choices, minimum=default_minimum, file=default_file, name=default_name):
        self.__dict__.update(flags=flags, help=help, takes=takes, metavar=metavar, choices=choices, minimum=minimum, file=file, name=name)
    return __init__


def _17(MISSING, default_acquisition, default_bound_before_yield, factory_bindings, default_bound_only_after_yield, factory_release_sites, factory_managing_withs, default_registered, default_escapes, default_used_after_yield, default_handed_to_owner, factory_lost_acquisitions):
    def __init__(self, key, acquisition=default_acquisition, bound_before_yield=default_bound_before_yield, bindings=MISSING, bound_only_after_yield=default_bound_only_after_yield, release_sites=MISSING, managing_withs=MISSING, registered=default_registered, escapes=default_escapes, used_after_yield=default_used_after_yield, handed_to_owner=default_handed_to_owner, lost_acquisitions=MISSING):
        if bindings is MISSING: bindings = factory_bindings()
        if release_sites is MISSING: release_sites = factory_release_sites()
        if managing_withs is MISSING: managing_withs = factory_managing_withs()
        if lost_acquisitions is MISSING: lost_acquisitions = factory_lost_acquisitions()
        self.key = key
        self.acquisition = acquisition
        self.bound_before_yield = bound_before_yield
        self.bindings = bindings
        self.bound_only_after_yield = bound_only_after_yield
        self.release_sites = release_sites
        self.managing_withs = managing_withs
        self.registered = registered
        self.escapes = escapes
        self.used_after_yield = used_after_yield
        self.handed_to_owner = handed_to_owner
        self.lost_acquisitions = lost_acquisitions
    return __init__


def _18(MISSING, default_keyword, default_refused_by):
    def __init__(self, keyword=default_keyword, refused_by=default_refused_by):
        self.__dict__.update(keyword=keyword, refused_by=refused_by)
    return __init__


def _19(MISSING, default_release_rows, default_await_rows, default_release_code, default_function_end_row, default_keep_with, default_callee, default_import_code):
    def __init__(self, kind, applicability, title, function_row, anchor_row, release_rows=default_release_rows, await_rows=default_await_rows, release_code=default_release_code, function_end_row=default_function_end_row, keep_with=default_keep_with, callee=default_callee, import_code=default_import_code):
        self.__dict__.update(kind=kind, applicability=applicability, title=title, function_row=function_row, anchor_row=anchor_row, release_rows=release_rows, await_rows=await_rows, release_code=release_code, function_end_row=function_end_row, keep_with=keep_with, callee=callee, import_code=import_code)
    return __init__


def _20(MISSING, default_owner):
    def __init__(self, module, exact, driver, owner=default_owner):
        self.__dict__.update(module=module, exact=exact, driver=driver, owner=owner)
    return __init__


def _21(MISSING):
    def __init__(self, module, resource_type):
        self.__dict__.update(module=module, resource_type=resource_type)
    return __init__


def _22(MISSING):
    def __init__(self, name, distribution, checked, rows):
        self.__dict__.update(name=name, distribution=distribution, checked=checked, rows=rows)
    return __init__


def _23(MISSING, default_release, default_release_is_async, default_exit_closes, default_with_form, default_exit_note, default_inferred, default_guessed, default_ends_with, default_parts, default_quiet_methods, default_opened_by, default_undo, default_lazy):
    def __init__(self, name, release=default_release, release_is_async=default_release_is_async, exit_closes=default_exit_closes, with_form=default_with_form, exit_note=default_exit_note, inferred=default_inferred, guessed=default_guessed, ends_with=default_ends_with, parts=default_parts, quiet_methods=default_quiet_methods, opened_by=default_opened_by, undo=default_undo, lazy=default_lazy):
        self.__dict__.update(name=name, release=release, release_is_async=release_is_async, exit_closes=exit_closes, with_form=with_form, exit_note=exit_note, inferred=inferred, guessed=guessed, ends_with=ends_with, parts=parts, quiet_methods=quiet_methods, opened_by=opened_by, undo=undo, lazy=lazy)
    return __init__


def _24(MISSING, default_measured, default_decorators, default_decorator_names, default_calls, default_call_names, default_positional, default_keywords, default_list_arguments, default_methods, default_requires_import, default_markers, default_swallowing_hides_error):
    def __init__(self, name, title, finalization, role, measured=default_measured, decorators=default_decorators, decorator_names=default_decorator_names, calls=default_calls, call_names=default_call_names, positional=default_positional, keywords=default_keywords, list_arguments=default_list_arguments, methods=default_methods, requires_import=default_requires_import, markers=default_markers, swallowing_hides_error=default_swallowing_hides_error):
        self.__dict__.update(name=name, title=title, finalization=finalization, role=role, measured=measured, decorators=decorators, decorator_names=decorator_names, calls=calls, call_names=call_names, positional=positional, keywords=keywords, list_arguments=list_arguments, methods=methods, requires_import=requires_import, markers=markers, swallowing_hides_error=swallowing_hides_error)
    return __init__


def _25(MISSING):
    def __init__(self, node, in_loop):
        self.__dict__.update(node=node, in_loop=in_loop)
    return __init__


def _26(MISSING, default_fix):
    def __init__(self, node, message, fix=default_fix):
        self.__dict__.update(node=node, message=message, fix=fix)
    return __init__


def _27(MISSING, factory_handlers_around_yield, default_extra_yield, default_noreturn, default_module_tree, default_imports, default_module):
    def __init__(self, node, target, yields, resources, anonymous_acquisitions, parent, parameters, knowledge, handlers_around_yield=MISSING, extra_yield=default_extra_yield, noreturn=default_noreturn, module_tree=default_module_tree, imports=default_imports, module=default_module):
        if handlers_around_yield is MISSING: handlers_around_yield = factory_handlers_around_yield()
        self.node = node
        self.target = target
        self.yields = yields
        self.resources = resources
        self.anonymous_acquisitions = anonymous_acquisitions
        self.parent = parent
        self.parameters = parameters
        self.knowledge = knowledge
        self.handlers_around_yield = handlers_around_yield
        self.extra_yield = extra_yield
        self.noreturn = noreturn
        self.module_tree = module_tree
        self.imports = imports
        self.module = module
    return __init__


def _28(MISSING, default_parsed, default_contribution, default_whole, default_size):
    def __init__(self, outcome, path, data, parsed=default_parsed, contribution=default_contribution, whole=default_whole, size=default_size):
        self.outcome = outcome
        self.path = path
        self.data = data
        self.parsed = parsed
        self.contribution = contribution
        self.whole = whole
        self.size = size
    return __init__


def _29(MISSING, factory_outcomes, factory_missing):
    def __init__(self, outcomes=MISSING, missing=MISSING):
        if outcomes is MISSING: outcomes = factory_outcomes()
        if missing is MISSING: missing = factory_missing()
        self.outcomes = outcomes
        self.missing = missing
    return __init__


def _30(MISSING):
    def __init__(self, path):
        self.__dict__.update(path=path)
    return __init__


def _31(MISSING, default_path, default_select, default_extend_select, default_ignore, factory_resource_factories, factory_release_methods, default_dependency_markers, default_drivers, default_type_inference, default_exclude, default_extend_exclude, default_respect_gitignore, default_per_file_ignores, default_rule_url):
    def __init__(self, path=default_path, select=default_select, extend_select=default_extend_select, ignore=default_ignore, resource_factories=MISSING, release_methods=MISSING, dependency_markers=default_dependency_markers, drivers=default_drivers, type_inference=default_type_inference, exclude=default_exclude, extend_exclude=default_extend_exclude, respect_gitignore=default_respect_gitignore, per_file_ignores=default_per_file_ignores, rule_url=default_rule_url):
        if resource_factories is MISSING: resource_factories = factory_resource_factories()
        if release_methods is MISSING: release_methods = factory_release_methods()
        self.__dict__.update(path=path, select=select, extend_select=extend_select, ignore=ignore, resource_factories=resource_factories, release_methods=release_methods, dependency_markers=dependency_markers, drivers=drivers, type_inference=type_inference, exclude=exclude, extend_exclude=extend_exclude, respect_gitignore=respect_gitignore, per_file_ignores=per_file_ignores, rule_url=rule_url)
    return __init__


def _32(MISSING, default_patterns, default_root, default_respect_gitignore, default_skip_defaults, default_force):
    def __init__(self, patterns=default_patterns, root=default_root, respect_gitignore=default_respect_gitignore, skip_defaults=default_skip_defaults, force=default_force):
        self.__dict__.update(patterns=patterns, root=root, respect_gitignore=respect_gitignore, skip_defaults=skip_defaults, force=force)
    return __init__


def _33(MISSING, factory_references, factory_method_references, factory_session_factories, factory_engines):
    def __init__(self, references=MISSING, method_references=MISSING, session_factories=MISSING, engines=MISSING):
        if references is MISSING: references = factory_references()
        if method_references is MISSING: method_references = factory_method_references()
        if session_factories is MISSING: session_factories = factory_session_factories()
        if engines is MISSING: engines = factory_engines()
        self.references = references
        self.method_references = method_references
        self.session_factories = session_factories
        self.engines = engines
    return __init__


def _34(MISSING):
    def __init__(self, row, column):
        self.__dict__.update(row=row, column=column)
    return __init__


def _35(MISSING, default_fix, default_unsafe_fixes, default_knowledge, default_type_inference, default_cache_dir, factory_exclusions, default_jobs, default_per_file_ignores, default_rule_url):
    def __init__(self, select, fix=default_fix, unsafe_fixes=default_unsafe_fixes, knowledge=default_knowledge, type_inference=default_type_inference, cache_dir=default_cache_dir, exclusions=MISSING, jobs=default_jobs, per_file_ignores=default_per_file_ignores, rule_url=default_rule_url):
        if exclusions is MISSING: exclusions = factory_exclusions()
        self.__dict__.update(select=select, fix=fix, unsafe_fixes=unsafe_fixes, knowledge=knowledge, type_inference=type_inference, cache_dir=cache_dir, exclusions=exclusions, jobs=jobs, per_file_ignores=per_file_ignores, rule_url=rule_url)
    return __init__


def _36(MISSING, default_select, default_extend_select, default_ignore, default_unsafe_fixes, default_type_inference):
    def __init__(self, select=default_select, extend_select=default_extend_select, ignore=default_ignore, unsafe_fixes=default_unsafe_fixes, type_inference=default_type_inference):
        self.__dict__.update(select=select, extend_select=extend_select, ignore=ignore, unsafe_fixes=unsafe_fixes, type_inference=type_inference)
    return __init__


def _37(MISSING, default_size, default_mtime_ns, default_has_targets, default_index, default_index_digest, factory_diagnostics, default_error, default_warning, factory_depends):
    def __init__(self, size=default_size, mtime_ns=default_mtime_ns, has_targets=default_has_targets, index=default_index, index_digest=default_index_digest, diagnostics=MISSING, error=default_error, warning=default_warning, depends=MISSING):
        if diagnostics is MISSING: diagnostics = factory_diagnostics()
        if depends is MISSING: depends = factory_depends()
        self.size = size
        self.mtime_ns = mtime_ns
        self.has_targets = has_targets
        self.index = index
        self.index_digest = index_digest
        self.diagnostics = diagnostics
        self.error = error
        self.warning = warning
        self.depends = depends
    return __init__


def _38(MISSING, default_owner, default_owner_release):
    def __init__(self, statement, call, awaited, resource_type, owner=default_owner, owner_release=default_owner_release):
        self.__dict__.update(statement=statement, call=call, awaited=awaited, resource_type=resource_type, owner=owner, owner_release=owner_release)
    return __init__


def _39(MISSING, default_explicit_closing):
    def __init__(self, statement, item, resource_type, explicit_closing=default_explicit_closing):
        self.__dict__.update(statement=statement, item=item, resource_type=resource_type, explicit_closing=explicit_closing)
    return __init__


def _40(MISSING, factory_diagnostics, default_error, default_parsed):
    def __init__(self, text, diagnostics=MISSING, error=default_error, parsed=default_parsed):
        if diagnostics is MISSING: diagnostics = factory_diagnostics()
        self.text = text
        self.diagnostics = diagnostics
        self.error = error
        self.parsed = parsed
    return __init__


INITS: dict = {
    'def __init__(self, body, skipped):\n self.__dict__.update(body=body, skipped=skipped)': _0,
    'def __init__(self, call, kind, returns=default_returns):\n self.__dict__.update(call=call, kind=kind, returns=returns)': _1,
    'def __init__(self, call, statement, awaited, protects_throw_path, after_yield, in_handler, guarding_try=default_guarding_try, discarded=default_discarded, helper=default_helper):\n self.__dict__.update(call=call, statement=statement, awaited=awaited, protects_throw_path=protects_throw_path, after_yield=after_yield, in_handler=in_handler, guarding_try=guarding_try, discarded=discarded, helper=helper)': _2,
    'def __init__(self, code, name, message, filename, location, end_location, fix=default_fix, severity=default_severity):\n self.__dict__.update(code=code, name=name, message=message, filename=filename, location=location, end_location=end_location, fix=fix, severity=severity)': _3,
    'def __init__(self, code, name, summary, docs, check):\n self.__dict__.update(code=code, name=name, summary=summary, docs=docs, check=check)': _4,
    'def __init__(self, content, location, end_location):\n self.__dict__.update(content=content, location=location, end_location=end_location)': _5,
    'def __init__(self, count, terminated=default_terminated, extra=default_extra, looped=default_looped, broke=default_broke):\n self.__dict__.update(count=count, terminated=terminated, extra=extra, looped=looped, broke=broke)': _6,
    'def __init__(self, diagnostics, settings, sources=MISSING, color=default_color):\n if sources is MISSING: sources = factory_sources()\n self.__dict__.update(diagnostics=diagnostics, settings=settings, sources=sources, color=color)': _7,
    'def __init__(self, drivers=default_drivers):\n self.__dict__.update(drivers=drivers)': _8,
    'def __init__(self, drivers=default_drivers, _by_name=MISSING):\n if _by_name is MISSING: _by_name = factory__by_name()\n self.__dict__.update(drivers=drivers, _by_name=_by_name)\n self.__post_init__()': _9,
    'def __init__(self, factories=MISSING, factory_patterns=default_factory_patterns, release_methods=default_release_methods, coroutine_release_methods=default_coroutine_release_methods, dependency_markers=default_dependency_markers, drivers=default_drivers):\n if factories is MISSING: factories = factory_factories()\n self.__dict__.update(factories=factories, factory_patterns=factory_patterns, release_methods=release_methods, coroutine_release_methods=coroutine_release_methods, dependency_markers=dependency_markers, drivers=drivers)': _10,
    'def __init__(self, filename, data, text, tree, imports, skipped=default_skipped, yield_rows=default_yield_rows, whole=default_whole):\n self.filename = filename\n self.data = data\n self.text = text\n self.tree = tree\n self.imports = imports\n self.skipped = skipped\n self.yield_rows = yield_rows\n self.whole = whole': _11,
    'def __init__(self, filename, diagnostics=MISSING, error=default_error, warning=default_warning, fixed=default_fixed, diff=default_diff, source=default_source, fixed_codes=MISSING):\n if diagnostics is MISSING: diagnostics = factory_diagnostics()\n if fixed_codes is MISSING: fixed_codes = factory_fixed_codes()\n self.filename = filename\n self.diagnostics = diagnostics\n self.error = error\n self.warning = warning\n self.fixed = fixed\n self.diff = diff\n self.source = source\n self.fixed_codes = fixed_codes': _12,
    'def __init__(self, filename, message, location=default_location):\n self.__dict__.update(filename=filename, message=message, location=location)': _13,
    'def __init__(self, filename, message, location=default_location, internal=default_internal):\n self.__dict__.update(filename=filename, message=message, location=location, internal=internal)': _14,
    'def __init__(self, first_row, last_row, name, error_location, error_message, header_only=default_header_only):\n self.__dict__.update(first_row=first_row, last_row=last_row, name=name, error_location=error_location, error_message=error_message, header_only=header_only)': _15,
    'def __init__(self, flags, help, takes=default_takes, metavar=default_metavar, choices=default_choices, minimum=default_minimum, file=default_file, name=default_name):\n self.__dict__.update(flags=flags, help=help, takes=takes, metavar=metavar, choices=choices, minimum=minimum, file=file, name=name)': _16,
    'def __init__(self, key, acquisition=default_acquisition, bound_before_yield=default_bound_before_yield, bindings=MISSING, bound_only_after_yield=default_bound_only_after_yield, release_sites=MISSING, managing_withs=MISSING, registered=default_registered, escapes=default_escapes, used_after_yield=default_used_after_yield, handed_to_owner=default_handed_to_owner, lost_acquisitions=MISSING):\n if bindings is MISSING: bindings = factory_bindings()\n if release_sites is MISSING: release_sites = factory_release_sites()\n if managing_withs is MISSING: managing_withs = factory_managing_withs()\n if lost_acquisitions is MISSING: lost_acquisitions = factory_lost_acquisitions()\n self.key = key\n self.acquisition = acquisition\n self.bound_before_yield = bound_before_yield\n self.bindings = bindings\n self.bound_only_after_yield = bound_only_after_yield\n self.release_sites = release_sites\n self.managing_withs = managing_withs\n self.registered = registered\n self.escapes = escapes\n self.used_after_yield = used_after_yield\n self.handed_to_owner = handed_to_owner\n self.lost_acquisitions = lost_acquisitions': _17,
    'def __init__(self, keyword=default_keyword, refused_by=default_refused_by):\n self.__dict__.update(keyword=keyword, refused_by=refused_by)': _18,
    'def __init__(self, kind, applicability, title, function_row, anchor_row, release_rows=default_release_rows, await_rows=default_await_rows, release_code=default_release_code, function_end_row=default_function_end_row, keep_with=default_keep_with, callee=default_callee, import_code=default_import_code):\n self.__dict__.update(kind=kind, applicability=applicability, title=title, function_row=function_row, anchor_row=anchor_row, release_rows=release_rows, await_rows=await_rows, release_code=release_code, function_end_row=function_end_row, keep_with=keep_with, callee=callee, import_code=import_code)': _19,
    'def __init__(self, module, exact, driver, owner=default_owner):\n self.__dict__.update(module=module, exact=exact, driver=driver, owner=owner)': _20,
    'def __init__(self, module, resource_type):\n self.__dict__.update(module=module, resource_type=resource_type)': _21,
    'def __init__(self, name, distribution, checked, rows):\n self.__dict__.update(name=name, distribution=distribution, checked=checked, rows=rows)': _22,
    'def __init__(self, name, release=default_release, release_is_async=default_release_is_async, exit_closes=default_exit_closes, with_form=default_with_form, exit_note=default_exit_note, inferred=default_inferred, guessed=default_guessed, ends_with=default_ends_with, parts=default_parts, quiet_methods=default_quiet_methods, opened_by=default_opened_by, undo=default_undo, lazy=default_lazy):\n self.__dict__.update(name=name, release=release, release_is_async=release_is_async, exit_closes=exit_closes, with_form=with_form, exit_note=exit_note, inferred=inferred, guessed=guessed, ends_with=ends_with, parts=parts, quiet_methods=quiet_methods, opened_by=opened_by, undo=undo, lazy=lazy)': _23,
    'def __init__(self, name, title, finalization, role, measured=default_measured, decorators=default_decorators, decorator_names=default_decorator_names, calls=default_calls, call_names=default_call_names, positional=default_positional, keywords=default_keywords, list_arguments=default_list_arguments, methods=default_methods, requires_import=default_requires_import, markers=default_markers, swallowing_hides_error=default_swallowing_hides_error):\n self.__dict__.update(name=name, title=title, finalization=finalization, role=role, measured=measured, decorators=decorators, decorator_names=decorator_names, calls=calls, call_names=call_names, positional=positional, keywords=keywords, list_arguments=list_arguments, methods=methods, requires_import=requires_import, markers=markers, swallowing_hides_error=swallowing_hides_error)': _24,
    'def __init__(self, node, in_loop):\n self.__dict__.update(node=node, in_loop=in_loop)': _25,
    'def __init__(self, node, message, fix=default_fix):\n self.__dict__.update(node=node, message=message, fix=fix)': _26,
    'def __init__(self, node, target, yields, resources, anonymous_acquisitions, parent, parameters, knowledge, handlers_around_yield=MISSING, extra_yield=default_extra_yield, noreturn=default_noreturn, module_tree=default_module_tree, imports=default_imports, module=default_module):\n if handlers_around_yield is MISSING: handlers_around_yield = factory_handlers_around_yield()\n self.node = node\n self.target = target\n self.yields = yields\n self.resources = resources\n self.anonymous_acquisitions = anonymous_acquisitions\n self.parent = parent\n self.parameters = parameters\n self.knowledge = knowledge\n self.handlers_around_yield = handlers_around_yield\n self.extra_yield = extra_yield\n self.noreturn = noreturn\n self.module_tree = module_tree\n self.imports = imports\n self.module = module': _27,
    'def __init__(self, outcome, path, data, parsed=default_parsed, contribution=default_contribution, whole=default_whole, size=default_size):\n self.outcome = outcome\n self.path = path\n self.data = data\n self.parsed = parsed\n self.contribution = contribution\n self.whole = whole\n self.size = size': _28,
    'def __init__(self, outcomes=MISSING, missing=MISSING):\n if outcomes is MISSING: outcomes = factory_outcomes()\n if missing is MISSING: missing = factory_missing()\n self.outcomes = outcomes\n self.missing = missing': _29,
    'def __init__(self, path):\n self.__dict__.update(path=path)': _30,
    'def __init__(self, path=default_path, select=default_select, extend_select=default_extend_select, ignore=default_ignore, resource_factories=MISSING, release_methods=MISSING, dependency_markers=default_dependency_markers, drivers=default_drivers, type_inference=default_type_inference, exclude=default_exclude, extend_exclude=default_extend_exclude, respect_gitignore=default_respect_gitignore, per_file_ignores=default_per_file_ignores, rule_url=default_rule_url):\n if resource_factories is MISSING: resource_factories = factory_resource_factories()\n if release_methods is MISSING: release_methods = factory_release_methods()\n self.__dict__.update(path=path, select=select, extend_select=extend_select, ignore=ignore, resource_factories=resource_factories, release_methods=release_methods, dependency_markers=dependency_markers, drivers=drivers, type_inference=type_inference, exclude=exclude, extend_exclude=extend_exclude, respect_gitignore=respect_gitignore, per_file_ignores=per_file_ignores, rule_url=rule_url)': _31,
    'def __init__(self, patterns=default_patterns, root=default_root, respect_gitignore=default_respect_gitignore, skip_defaults=default_skip_defaults, force=default_force):\n self.__dict__.update(patterns=patterns, root=root, respect_gitignore=respect_gitignore, skip_defaults=skip_defaults, force=force)': _32,
    'def __init__(self, references=MISSING, method_references=MISSING, session_factories=MISSING, engines=MISSING):\n if references is MISSING: references = factory_references()\n if method_references is MISSING: method_references = factory_method_references()\n if session_factories is MISSING: session_factories = factory_session_factories()\n if engines is MISSING: engines = factory_engines()\n self.references = references\n self.method_references = method_references\n self.session_factories = session_factories\n self.engines = engines': _33,
    'def __init__(self, row, column):\n self.__dict__.update(row=row, column=column)': _34,
    'def __init__(self, select, fix=default_fix, unsafe_fixes=default_unsafe_fixes, knowledge=default_knowledge, type_inference=default_type_inference, cache_dir=default_cache_dir, exclusions=MISSING, jobs=default_jobs, per_file_ignores=default_per_file_ignores, rule_url=default_rule_url):\n if exclusions is MISSING: exclusions = factory_exclusions()\n self.__dict__.update(select=select, fix=fix, unsafe_fixes=unsafe_fixes, knowledge=knowledge, type_inference=type_inference, cache_dir=cache_dir, exclusions=exclusions, jobs=jobs, per_file_ignores=per_file_ignores, rule_url=rule_url)': _35,
    'def __init__(self, select=default_select, extend_select=default_extend_select, ignore=default_ignore, unsafe_fixes=default_unsafe_fixes, type_inference=default_type_inference):\n self.__dict__.update(select=select, extend_select=extend_select, ignore=ignore, unsafe_fixes=unsafe_fixes, type_inference=type_inference)': _36,
    'def __init__(self, size=default_size, mtime_ns=default_mtime_ns, has_targets=default_has_targets, index=default_index, index_digest=default_index_digest, diagnostics=MISSING, error=default_error, warning=default_warning, depends=MISSING):\n if diagnostics is MISSING: diagnostics = factory_diagnostics()\n if depends is MISSING: depends = factory_depends()\n self.size = size\n self.mtime_ns = mtime_ns\n self.has_targets = has_targets\n self.index = index\n self.index_digest = index_digest\n self.diagnostics = diagnostics\n self.error = error\n self.warning = warning\n self.depends = depends': _37,
    'def __init__(self, statement, call, awaited, resource_type, owner=default_owner, owner_release=default_owner_release):\n self.__dict__.update(statement=statement, call=call, awaited=awaited, resource_type=resource_type, owner=owner, owner_release=owner_release)': _38,
    'def __init__(self, statement, item, resource_type, explicit_closing=default_explicit_closing):\n self.__dict__.update(statement=statement, item=item, resource_type=resource_type, explicit_closing=explicit_closing)': _39,
    'def __init__(self, text, diagnostics=MISSING, error=default_error, parsed=default_parsed):\n if diagnostics is MISSING: diagnostics = factory_diagnostics()\n self.text = text\n self.diagnostics = diagnostics\n self.error = error\n self.parsed = parsed': _40,
}

"""Accounts: registration, email verification, login, logout, password reset."""

from flask import abort

from ptce_aap.auth import bp


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    abort(501)


@bp.route("/deconnexion", methods=["POST"])
def logout():
    abort(501)


@bp.route("/inscription", methods=["GET", "POST"])
def register():
    abort(501)

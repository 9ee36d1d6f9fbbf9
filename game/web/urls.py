"""The site's URLs (ROOT_URLCONF): the pages, the charts' past, the debrief's routes."""
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from game.debrief import views as debrief_views
from game.live import history, sessions  # noqa: F401 (sessions: the logout hook)
from game.web import grading, scenarios, views

urlpatterns = [
    path("", views.join, name="home"),
    path("join", views.join, name="join"),
    re_path(r"^join/(?P<code>[A-Za-z0-9\-]{1,16})/?$", views.join, name="join_code"),
    re_path(r"^join/(?P<code>[A-Za-z0-9\-]{1,16})/resume/?$", views.resume, name="resume"),
    re_path(r"^join/(?P<code>[A-Za-z0-9\-]{1,16})/carry/?$", views.carry, name="carry"),
    path("play/<str:code>/", views.play, name="play"),
    re_path(r"^qr/(?P<code>[A-Za-z0-9]{1,12})\.svg$", views.qr, name="qr"),
    path("projector/<str:code>/<str:token>/", views.projector, name="projector"),
    path("console/", views.console, name="console"),
    # The scenario editor before console/<code>/: "scenarios" is no game code.
    *scenarios.urlpatterns_for(path),
    path("console/<str:code>/", views.console_game, name="console_game"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^g/(?P<code>[A-Za-z0-9]{1,12})/history$", history.history, name="history"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
]

# After the game: debrief, bands, export, delete, private report (game/debrief/views.py).
urlpatterns += debrief_views.urlpatterns_for(path)

# Preparing and grading: teachers' guides, the class list, the grade sheet (game/web/grading.py).
urlpatterns += grading.urlpatterns_for(path)

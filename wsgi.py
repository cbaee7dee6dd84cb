from ptce_aap import create_app

app = create_app()
